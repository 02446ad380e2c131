"""Streaming frame writers: H.264 MP4 (imageio-ffmpeg), GIF and PNG folders, written atomically.

Every writer renders into a temporary name beside the target and renames it only in `commit()`,
so an interrupted or failed export leaves no half-written file behind. `ThreadedWriter` moves
encoding onto a thread fed by a bounded queue, so rendering and encoding overlap while memory
stays flat however long the video is.
"""
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from eqviz.atomic_io import partial_name, remove_stale_partials
from eqviz.errors import EqvizError, InvalidArgument
from eqviz.video.targets import DEFAULT_CRF, FRAME_FILE, check_crf, check_output, foreign_entries, output_kind


def encoder_threads_beside(device) -> int:
    """Encoder threads that leave CPU synthesis its cores: a busy x264 thread pool stalls torch's
    thread barriers, which cost more than encoding saves. 0 (automatic) when rendering on a GPU."""
    import torch

    if torch.device(device).type != "cpu":
        return 0
    return max(1, (os.cpu_count() or 1) - torch.get_num_threads())


def pad_to_even(frame: np.ndarray) -> np.ndarray:
    """Pad [H, W, 3] uint8 with black on the bottom/right to even sizes (yuv420p needs them; rescaling would blur)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))


class _AtomicWriter:
    """Common part: a temporary target, renamed on commit and deleted on abort."""

    parallel = False  # True where every frame is its own file, so several threads may write at once

    file_fps = None  # the rate the file plays at, where it differs from the one asked for

    def __init__(self, path, overwrite: bool = False):
        self.path = check_output(path, overwrite)  # before any frame is rendered
        remove_stale_partials(self.path)
        self.overwrite = overwrite
        self.temp = partial_name(self.path)
        self.size = None  # (width, height) after padding, fixed by the first frame
        self.frames_written = 0
        self._lock = threading.Lock()  # opening and counting, when `parallel` writers share this one

    def write(self, frame: np.ndarray, index: int | None = None) -> None:
        """Appends a frame; index (0-based position in the video) only for `parallel` writers, which
        may receive frames out of order."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be uint8 [H, W, 3], got {frame.dtype} {frame.shape}")
        frame = pad_to_even(frame)
        size = (frame.shape[1], frame.shape[0])
        with self._lock:
            if self.size is None:
                self.size = size
                self._open()
            elif size != self.size:
                raise ValueError(f"frame size changed from {self.size} to {size} mid-video")
            if index is None:
                index = self.frames_written
        self._write(np.ascontiguousarray(frame), index)
        with self._lock:
            self.frames_written += 1

    def commit(self) -> Path:
        """Finish the file and move it onto the target name."""
        if self.frames_written == 0:
            self.abort()
            raise InvalidArgument("no frames were rendered, so no video was written; check the frame count or duration.", "frames")
        self._close()
        if self.path.exists() and not self.overwrite:
            self.abort()
            raise InvalidArgument(f"'{self.path}' appeared while rendering; allow overwriting to replace it.", "overwrite")
        self._move_into_place()
        return self.path

    def abort(self) -> None:
        """Stop and delete whatever was written so far; safe to call more than once."""
        try:
            self._close()
        except Exception:  # the encoder may already be broken; the file is being discarded anyway
            pass
        if self.temp.is_dir():
            shutil.rmtree(self.temp, ignore_errors=True)
        elif self.temp.exists():
            self.temp.unlink()

    def _move_into_place(self) -> None:
        os.replace(self.temp, self.path)

    def _open(self) -> None:
        raise NotImplementedError

    def _write(self, frame: np.ndarray, index: int) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class Mp4Writer(_AtomicWriter):
    """H.264 yuv420p through imageio-ffmpeg: explicit -crf (quality=None), +faststart for streaming players."""

    def __init__(self, path, fps: float, crf: int = DEFAULT_CRF, preset: str = "medium", overwrite: bool = False, threads: int = 0):
        check_crf(crf)
        super().__init__(path, overwrite)
        self.fps, self.crf, self.preset = fps, crf, preset
        self.threads = threads  # 0 = libx264 decides (about 1.5 per core)
        self._gen = None
        self.verify_encoder()

    def verify_encoder(self) -> None:
        """Encodes one black 16x16 frame with these settings into a partial file beside the target,
        then deletes it: a missing or broken ffmpeg, a missing encoder or a folder ffmpeg cannot
        write shows before the first frame is rendered, not after the last."""
        import imageio_ffmpeg

        probe = partial_name(self.path)
        try:
            command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                       "-s", "16x16", "-i", "-", "-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                       "-crf", str(self.crf), "-preset", self.preset, str(probe)]
            done = subprocess.run(command, input=bytes(16 * 16 * 3), capture_output=True, timeout=60)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            raise EqvizError(f"ffmpeg could not be started ({exc}); reinstall imageio-ffmpeg or set IMAGEIO_FFMPEG_EXE to an ffmpeg") from None
        finally:
            probe.unlink(missing_ok=True)
        if done.returncode != 0:
            reason = (done.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise EqvizError(f"ffmpeg cannot write {self.path}: {reason}")

    def _open(self) -> None:
        import imageio_ffmpeg

        self._gen = imageio_ffmpeg.write_frames(
            str(self.temp),
            self.size,
            fps=self.fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=None,  # otherwise imageio-ffmpeg adds its own -crf
            macro_block_size=1,  # sizes are already even; the default of 16 would rescale
            output_params=["-crf", str(self.crf), "-preset", self.preset, "-threads", str(self.threads), "-movflags", "+faststart"],
        )
        self._gen.send(None)

    def _write(self, frame: np.ndarray, index: int) -> None:
        self._gen.send(frame)  # frames arrive in order: the writer is not `parallel`

    def _close(self) -> None:
        gen, self._gen = self._gen, None
        if gen is not None:
            gen.close()


class GifWriter(_AtomicWriter):
    """Animated GIF via Pillow; frames are kept palettised (1 byte per pixel) until the file is written."""

    def __init__(self, path, fps: float, overwrite: bool = False):
        super().__init__(path, overwrite)
        self.frame_ms = max(20, int(round(1000 / fps / 10)) * 10)  # GIF delays are in 1/100 s; browsers clamp < 20 ms
        self.file_fps = 1000 / self.frame_ms  # 30 fps asked for plays at 33.3 (30 ms a frame)
        self._frames = []

    def _open(self) -> None:
        self._frames = []

    def _write(self, frame: np.ndarray, index: int) -> None:
        self._frames.append(Image.fromarray(frame).quantize(colors=256, method=Image.Quantize.MEDIANCUT))

    def _close(self) -> None:
        frames, self._frames = self._frames, []
        if frames and not self.temp.exists():
            frames[0].save(self.temp, format="GIF", save_all=True, append_images=frames[1:], duration=self.frame_ms, loop=0)

    def abort(self) -> None:
        self._frames = []  # discard without encoding
        super().abort()


class PngFolderWriter(_AtomicWriter):
    """A folder of frame_000000.png ...; a new folder appears at once on commit. An existing one is
    only replaced (overwrite) when it holds nothing but eqviz's frames: its frames are swapped for the
    new ones, and nothing else is ever deleted."""

    parallel = True  # Pillow releases the GIL while compressing, so threads encode frames side by side


    def _open(self) -> None:
        self.temp.mkdir()

    def _write(self, frame: np.ndarray, index: int) -> None:
        Image.fromarray(frame).save(self.temp / f"frame_{index:06d}.png", compress_level=1)

    def _close(self) -> None:
        pass

    def _move_into_place(self) -> None:
        if not self.path.exists():
            os.replace(self.temp, self.path)
            return
        if not self.path.is_dir():
            raise EqvizError(f"'{self.path}' exists and is not a folder; choose another output path.")
        if foreign_entries(self.path):
            raise EqvizError(f"files eqviz did not write appeared in '{self.path}' while rendering; nothing was "
                             "replaced, choose a new or empty folder.")
        new = {entry.name for entry in self.temp.iterdir()}
        for name in sorted(new):
            os.replace(self.temp / name, self.path / name)
        for entry in self.path.iterdir():  # frames of a longer earlier video
            if FRAME_FILE.fullmatch(entry.name) and entry.name not in new:
                entry.unlink()
        self.temp.rmdir()


def open_writer(path, fps: float, crf: int = DEFAULT_CRF, overwrite: bool = False, preset: str = "medium",
                encoder_threads: int = 0) -> _AtomicWriter:
    """The writer for the target's kind (see `output_kind`)."""
    if fps <= 0:
        raise EqvizError(f"fps must be positive, got {fps}.")
    kind = output_kind(path)
    if kind == "mp4":
        return Mp4Writer(path, fps, crf=crf, preset=preset, overwrite=overwrite, threads=encoder_threads)
    if kind == "gif":
        return GifWriter(path, fps, overwrite=overwrite)
    return PngFolderWriter(path, overwrite=overwrite)


def writer_threads(path, device) -> int:
    """Threads that write a PNG folder: one frame each at a time. Beside a GPU a single thread cannot
    compress frames as fast as small models render them; beside CPU synthesis they would steal its cores."""
    import torch

    if output_kind(path) != "png":
        return 1
    if torch.device(device).type == "cpu":
        return encoder_threads_beside(device)
    return max(1, min(8, (os.cpu_count() or 1) - 1))


class ThreadedWriter:
    """Encodes on background threads fed by a bounded queue (rendering never waits unless it is far ahead).

    threads > 1 only for `parallel` writers (PNG folders); a video stream is encoded by one thread.
    """

    _DONE = object()

    def __init__(self, writer: _AtomicWriter, max_queued: int = 8, threads: int = 1):
        self.writer = writer
        threads = threads if writer.parallel else 1
        self._queue = queue.Queue(maxsize=max(max_queued, 2 * threads))
        self._error = None
        self._queued = 0
        self._threads = [threading.Thread(target=self._run, name=f"eqviz-video-encoder-{k}", daemon=True) for k in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if self._error is not None:
                continue  # drain so the producer never blocks on a dead encoder
            index, frame = item
            try:
                self.writer.write(frame, index if self.writer.parallel else None)
            except BaseException as exc:  # handed to the producer thread, which re-raises it
                self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise EqvizError(f"encoding '{self.writer.path}' failed: {self._error}") from self._error

    def write(self, frame: np.ndarray) -> None:
        self._raise_if_failed()
        self._queue.put((self._queued, frame))
        self._queued += 1

    def _stop(self) -> None:
        for _ in self._threads:
            self._queue.put(self._DONE)
        for thread in self._threads:
            thread.join()

    def commit(self) -> Path:
        self._stop()
        try:
            self._raise_if_failed()
        except EqvizError:
            self.writer.abort()
            raise
        return self.writer.commit()

    def abort(self) -> None:
        self._stop()
        self.writer.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        return False
