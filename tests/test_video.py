"""Videos of NVIDIA's 64-px reference generators: loops close, files come back whole, failures leave nothing."""
import threading
import tracemalloc

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from eqviz.errors import Cancelled, EqvizError
from eqviz.cli.main import main
from eqviz.video.motions import Motion
from eqviz.core.colormaps import ERROR_LOG10_RANGE, error_table
from eqviz.core.images import to_uint8
from eqviz.core.rendering import render_session
from eqviz.core.session import Session
from eqviz.video.render import FrameSource, VideoSpec, render_video


@pytest.fixture(scope="module")
def pkl(reference_dir):
    return lambda name: str(reference_dir / "pkl" / f"{name}.pkl")


@pytest.fixture(scope="module")
def generators(pkl):
    import eqviz.networks

    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = eqviz.networks.load_generator(pkl(name))
        return (name, cache[name])

    return get


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int32) - b.astype(np.int32)).mean())


def test_mp4_has_the_requested_frames_and_grid_size(tmp_path, generators):
    spec = VideoSpec(checkpoints=["sg2_64"], out=str(tmp_path / "walk.mp4"), motion=Motion(kinds=("walk",)),
                     seeds=[0, 1, 2, 3], grid=(1, 2), frames=5, fps=10, size=32, batch=5)
    result = render_video(spec, generators=[generators("sg2_64")])
    with imageio.get_reader(result.path) as reader:
        frames = [f for f in reader]
        fps = reader.get_meta_data()["fps"]
    assert len(frames) == 5 and fps == 10
    assert result.file_fps == 10 and result.duration == 0.5
    assert frames[0].shape == (32, 32 * 2 + 2, 3) and result.size == (66, 32)
    assert [p.name for p in tmp_path.iterdir()] == ["walk.mp4"]


def test_full_turn_rotation_ends_where_it_began(generators):
    n = 12
    spec = VideoSpec(checkpoints=["sg3t_64"], out="unused.mp4", motion=Motion(kinds=("rotate",)), seeds=[5], frames=n)
    source = FrameSource(spec, generators=[generators("sg3t_64")])
    first, next_loop, second = source.render([0, n, 1])
    # The frame after the last (one full turn) repeats the first; a real step of the rotation does not.
    assert mean_abs(first, next_loop) < 0.05
    assert np.abs(first.astype(int) - next_loop).max() <= 1
    assert mean_abs(first, second) > 20 * max(mean_abs(first, next_loop), 0.01)


def test_latent_walk_loop_closes_without_a_jump(generators):
    n = 16  # 4 keyframes, 4 frames apart
    spec = VideoSpec(checkpoints=["sg2_64"], out="unused.mp4", motion=Motion(kinds=("walk",)), seeds=[3, 8, 13, 21], frames=n, batch=n)
    source = FrameSource(spec, generators=[generators("sg2_64")])
    frames = source.render(range(n))
    steps = [mean_abs(frames[i], frames[(i + 1) % n]) for i in range(n)]
    # last -> first is a step like the others, not a cut back to the start.
    assert steps[-1] < 2 * np.median(steps[:-1]) and steps[-1] > 0.25 * np.median(steps[:-1])


def test_walk_in_z_passes_through_each_seed(generators):
    name, G = generators("sg2_64")
    spec = VideoSpec(checkpoints=[name], out="unused.mp4", motion=Motion(kinds=("walk",), walk_space="z"), seeds=[3, 8], frames=4, batch=4)
    source = FrameSource(spec, generators=[(name, G)])
    walk = source.render([2])[0]
    direct = to_uint8(render_session(G, Session(latent_x=8)))
    assert np.abs(walk.astype(int) - direct).max() <= 1


def test_session_start_renders_the_session_frame_first(generators):
    name, G = generators("sg3t_64")
    session = Session(latent_x=7, psi=0.7, translate=(0.1, -0.05), rotate_deg=30)
    spec = VideoSpec(checkpoints=[name], out="unused.mp4", motion=Motion(kinds=("rotate",)), frames=8, session=session)
    frame = FrameSource(spec, generators=[(name, G)]).render([0])[0]
    assert np.abs(frame.astype(int) - to_uint8(render_session(G, session))).max() <= 1


def test_stylegan2_alone_cannot_rotate_and_the_error_offers_walk(generators):
    spec = VideoSpec(checkpoints=["sg2_64"], out="unused.mp4", motion=Motion(kinds=("rotate",)), frames=4)
    with pytest.raises(EqvizError, match="use the walk motion"):
        FrameSource(spec, generators=[generators("sg2_64")])


def test_side_by_side_moves_stylegan2_in_output_space_with_labels(generators):
    spec = VideoSpec(checkpoints=["sg2_64", "sg3t_64"], out="unused.mp4", motion=Motion(kinds=("rotate",)), seeds=[1],
                     frames=4, untransform=True, error_map=True)
    source = FrameSource(spec, generators=[generators("sg2_64"), generators("sg3t_64")])
    assert [track.output_space for track in source.tracks] == [True, False]
    labels = source.layout.labels
    assert labels[0] == ("sg2_64", "output-space") and labels[3] == ("sg3t_64", "stylegan3-t")
    assert [line[1] for line in labels[1:3]] == ["untransformed", "error, log 1e-6..1"]
    frame = source.render([1])[0]  # a quarter turn
    tile, header = source.layout.tile, source.layout.header
    sg3t_error = frame[header:, 5 * (tile + 2) : 6 * tile + 10]
    assert frame.shape == (header + 64, 6 * 64 + 5 * 2, 3)
    # StyleGAN3-T undoes a quarter turn almost exactly: read the colours back through the scale's table.
    table = error_table().astype(int)
    index = np.abs(sg3t_error.reshape(-1, 1, 3).astype(int) - table[None]).sum(-1).argmin(-1)
    lo, hi = ERROR_LOG10_RANGE
    assert np.median(lo + index / (len(table) - 1) * (hi - lo)) < -3  # squared error under 1e-3 (PSNR > 36 dB)


def test_untransform_needs_a_transform_motion(generators):
    spec = VideoSpec(checkpoints=["sg2_64"], out="unused.mp4", motion=Motion(kinds=("walk",)), seeds=[1, 2], untransform=True)
    with pytest.raises(EqvizError, match="add rotate or translate"):
        FrameSource(spec, generators=[generators("sg2_64")])


def test_cancel_mid_way_leaves_no_file(tmp_path, generators):
    cancel = threading.Event()
    spec = VideoSpec(checkpoints=["sg2_64"], out=str(tmp_path / "c.mp4"), motion=Motion(kinds=("walk",)), seeds=[1, 2],
                     frames=12, batch=3)
    seen = []

    def progress(p):
        seen.append(p.done)
        cancel.set()  # after the first batch

    with pytest.raises(Cancelled, match="cancelled at 3 of 12") as info:
        render_video(spec, progress=progress, cancel=cancel.is_set, generators=[generators("sg2_64")])
    assert seen == [3] and info.value.done == 3
    assert list(tmp_path.iterdir()) == []


def test_exception_mid_way_leaves_no_file(tmp_path, generators, monkeypatch):
    calls = []
    real_launch = FrameSource.launch

    def failing_launch(self, indices):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return real_launch(self, indices)

    monkeypatch.setattr(FrameSource, "launch", failing_launch)
    spec = VideoSpec(checkpoints=["sg2_64"], out=str(tmp_path / "e.gif"), motion=Motion(kinds=("walk",)), seeds=[1, 2],
                     frames=6, batch=3)
    with pytest.raises(RuntimeError, match="out of memory"):
        render_video(spec, generators=[generators("sg2_64")])
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_a_video_and_refuses_to_overwrite(tmp_path, pkl, capsys):
    out = tmp_path / "w.mp4"
    argv = ["video", pkl("sg2_64"), "--motion", "walk", "--seeds", "0-1", "--frames", "3", "--fps", "12", "--out", str(out)]
    assert main(argv) == 0
    with imageio.get_reader(out) as reader:
        assert len([f for f in reader]) == 3
    before = out.read_bytes()
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_cli_explains_stylegan2_rotation(tmp_path, pkl, capsys):
    assert main(["video", pkl("sg2_64"), "--motion", "rotate", "--out", str(tmp_path / "r.mp4")]) == 2
    err = capsys.readouterr().err
    assert "StyleGAN2" in err and "--motion: " in err and "walk motion" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@torch.no_grad()
def test_translation_video_moves_stylegan3_content(generators):
    # A 1/8-width translation to the right moves the picture 8 pixels right (away from the borders).
    spec = VideoSpec(checkpoints=["sg3t_64"], out="unused.mp4", motion=Motion(kinds=("translate",), path="line", radius=0.0625),
                     seeds=[2], frames=2)
    left, right = FrameSource(spec, generators=[generators("sg3t_64")]).render([0, 1])
    assert mean_abs(left[8:-8, 8:-16], right[8:-8, 16:-8]) < 0.05
    assert mean_abs(left[8:-8, 8:-16], right[8:-8, 8:-16]) > 0.3  # unshifted, the frames differ


def test_render_memory_does_not_grow_with_the_number_of_frames(tmp_path, generators):
    def peak(frames):
        spec = VideoSpec(checkpoints=["sg2_64"], out=str(tmp_path / f"{frames}.mp4"), motion=Motion(kinds=("walk",)),
                         seeds=[1, 2], frames=frames, batch=4, size=128)
        tracemalloc.start()
        render_video(spec, generators=[generators("sg2_64")])
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_bytes

    frame_bytes = 128 * 128 * 3
    short, long = peak(4), peak(32)
    # 8x the frames: at most the bounded encoder queue and one batch more in flight, never the whole video.
    assert long - short < 12 * frame_bytes


@pytest.mark.cuda
def test_gpu_pipeline_writes_the_frames_the_cpu_renders(tmp_path, pkl):
    """On a GPU each batch comes back by an asynchronous copy collected one batch later; the PNG frames
    must still be complete, in order, and the CPU's frames to a grey level."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to PyTorch")
    import eqviz.networks

    kwargs = dict(checkpoints=["sg3t_64"], motion=Motion(kinds=("rotate",)), seeds=[5], frames=7, batch=2)
    G = eqviz.networks.load_generator(pkl("sg3t_64"))
    cpu_frames = FrameSource(VideoSpec(out="unused.mp4", **kwargs), generators=[("sg3t_64", G)]).render(range(7))
    result = render_video(VideoSpec(out=str(tmp_path / "frames"), device="cuda", **kwargs),
                          generators=[("sg3t_64", eqviz.networks.load_generator(pkl("sg3t_64"), device="cuda"))])
    written = sorted(result.path.iterdir())
    assert len(written) == 7
    for path, expected in zip(written, cpu_frames):
        assert np.abs(imageio.imread(path).astype(int) - expected).max() <= 1
