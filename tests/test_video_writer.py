"""Frame writers: what comes back from the file, atomicity, overwrite rules, flat memory."""
import tracemalloc

import imageio.v2 as imageio
import numpy as np
import pytest

from eqviz.errors import EqvizError, InvalidArgument
from eqviz.video.writer import GifWriter, Mp4Writer, ThreadedWriter, open_writer, output_kind, pad_to_even


def ramp_frames(n, height=48, width=64):
    """Frames whose mean brightness encodes their index (survives lossy encoding)."""
    for i in range(n):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0] = (20 * i) % 256
        frame[..., 1] = 128
        yield frame


def write_all(writer, frames):
    encoder = ThreadedWriter(writer)
    for frame in frames:
        encoder.write(frame)
    return encoder.commit()


def read_back(path):
    with imageio.get_reader(path) as reader:
        return [frame for frame in reader]


def test_mp4_has_every_frame_at_the_written_size(tmp_path):
    path = write_all(open_writer(tmp_path / "a.mp4", fps=30), ramp_frames(9))
    frames = read_back(path)
    assert len(frames) == 9
    assert frames[0].shape == (48, 64, 3)
    reds = [int(round(f[..., 0].mean())) for f in frames]
    assert reds == pytest.approx([20 * i for i in range(9)], abs=3)


def test_odd_sizes_are_padded_not_rescaled(tmp_path):
    frames = list(ramp_frames(3, height=33, width=45))
    path = write_all(open_writer(tmp_path / "odd.mp4", fps=24), frames)
    back = read_back(path)
    assert back[0].shape == (34, 46, 3)
    # The picture keeps its size and place: the padded row/column is black, the rest is the frame.
    assert np.abs(back[2][:33, :45].astype(int) - frames[2]).mean() < 3
    assert pad_to_even(frames[0])[33].max() == 0


def test_gif_and_png_folder_keep_frames_and_size(tmp_path):
    gif = write_all(open_writer(tmp_path / "a.gif", fps=10), ramp_frames(5))
    assert np.asarray(read_back(gif)).shape[:3] == (5, 48, 64)
    folder = write_all(open_writer(tmp_path / "frames", fps=10), ramp_frames(4))
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(4)]
    assert imageio.imread(folder / names[3])[0, 0, 0] == 60


def test_existing_output_is_kept_without_overwrite(tmp_path):
    target = tmp_path / "a.mp4"
    target.write_bytes(b"precious")
    with pytest.raises(InvalidArgument, match="allow overwriting") as info:
        open_writer(target, fps=30)
    assert info.value.argument == "overwrite"  # the CLI names its flag for it
    assert target.read_bytes() == b"precious"
    write_all(open_writer(target, fps=30, overwrite=True), ramp_frames(2))
    assert len(read_back(target)) == 2


def test_png_folder_overwrite_replaces_the_whole_folder(tmp_path):
    write_all(open_writer(tmp_path / "frames", fps=10), ramp_frames(5))
    write_all(open_writer(tmp_path / "frames", fps=10, overwrite=True), ramp_frames(2))
    assert len(list((tmp_path / "frames").iterdir())) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["frames"]


@pytest.mark.parametrize("name", ["a.mp4", "a.gif", "frames"])
def test_failure_mid_way_leaves_no_file(tmp_path, name):
    frames = ramp_frames(6)
    with pytest.raises(RuntimeError):
        with ThreadedWriter(open_writer(tmp_path / name, fps=30)) as encoder:
            for i, frame in enumerate(frames):
                if i == 3:
                    raise RuntimeError("renderer crashed")
                encoder.write(frame)
    assert list(tmp_path.iterdir()) == []


def test_encoder_error_reaches_the_producer_and_leaves_no_file(tmp_path):
    encoder = ThreadedWriter(open_writer(tmp_path / "a.mp4", fps=30))
    encoder.write(np.zeros((16, 16, 3), np.uint8))
    encoder.write(np.zeros((18, 16, 3), np.uint8))  # size change: the encoder thread fails
    with pytest.raises(EqvizError, match="size changed"):
        encoder.commit()
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_and_bad_crf_are_user_errors(tmp_path):
    with pytest.raises(EqvizError, match=".mp4"):
        output_kind(tmp_path / "a.avi")
    with pytest.raises(EqvizError, match="crf"):
        Mp4Writer(tmp_path / "a.mp4", fps=30, crf=60)
    assert output_kind("x.MOV") == "mp4" and output_kind("dir") == "png"


def test_gif_delay_is_in_hundredths(tmp_path):
    assert GifWriter(tmp_path / "a.gif", fps=25).frame_ms == 40
    assert GifWriter(tmp_path / "b.gif", fps=100).frame_ms == 20  # players clamp faster GIFs


def peak_bytes_for(tmp_path, n):
    tracemalloc.start()
    write_all(open_writer(tmp_path / f"{n}.mp4", fps=30), ramp_frames(n, 128, 128))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_memory_stays_flat_with_video_length(tmp_path):
    frame_bytes = 128 * 128 * 3
    short, long = peak_bytes_for(tmp_path, 10), peak_bytes_for(tmp_path, 120)
    # Streaming: 12x more frames may not hold more than the bounded queue's worth of extra frames.
    assert long - short < 12 * frame_bytes


def test_png_folder_written_by_several_threads_keeps_every_frame_at_its_index(tmp_path):
    out = tmp_path / "frames"
    frames = [np.full((8, 10, 3), 10 * i, np.uint8) for i in range(20)]
    writer = ThreadedWriter(open_writer(out, fps=30), threads=4)
    for frame in frames:
        writer.write(frame)
    writer.commit()
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(20)]
    assert [int(imageio.imread(f)[0, 0, 0]) for f in files] == [10 * i for i in range(20)]
