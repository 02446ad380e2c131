"""Videos of one or more generators: rotation, translation and looping latent walks, in grids.

`render_video(spec)` is the library entry the CLI (`eqviz video`) and the app's export dialog share.
Frames are synthesised in batches on the calling thread and handed to an encoder thread through a
bounded queue, so encoding overlaps rendering and memory does not grow with the video's length.
"""
import dataclasses
import math
import threading
import time
from pathlib import Path

import numpy as np
import torch

from eqviz.errors import EqvizError
from eqviz.video import layout as video_layout
from eqviz.core.input_transform import supports_input_transform, transform_matrix
from eqviz.core.latents import class_label, seed_ws, session_ws, z_from_seed
from eqviz.video.motions import Motion, catmull_rom_loop, frame_count, pose, slerp_loop
from eqviz.core.rendering import check_finite
from eqviz.video.writer import DEFAULT_CRF, ThreadedWriter, encoder_threads_beside, open_writer, writer_threads


class Cancelled(EqvizError):
    """The caller asked the render to stop; nothing was written."""


@dataclasses.dataclass
class VideoSpec:
    checkpoints: list                     # checkpoint paths (or already loaded generators), one column each
    out: str                              # .mp4 / .mov / .mkv (H.264), .gif, or a folder name for PNG frames
    motion: Motion = Motion()             # rotate / translate / walk and their settings
    seeds: list[int] | None = None        # one per grid cell; a walk splits them into per-cell keyframes
    grid: tuple[int, int] | None = None   # (rows, cols) of cells; None = near-square
    frames: int | None = None             # frame count, or
    duration: float | None = None         # seconds (x fps); neither = 4 s
    fps: float = 30.0
    size: int | None = None               # panel size in pixels (default: the largest generator's resolution)
    psi: float = 1.0                      # truncation psi
    cutoff: int | None = None             # truncate only the first `cutoff` ws
    noise_mode: str = "const"             # StyleGAN2 noise: const / random / none
    class_idx: int | None = None          # class of conditional models
    session: object | None = None         # a eqviz.core.session.Session to start from (latent + pose)
    untransform: bool = False             # add a panel with the input transform undone
    error_map: bool = False               # add a panel with the per-pixel equivariance error
    error_scale: float = 0.25             # RMS error (image units, range 2) shown at full brightness
    labels: bool | None = None            # label panels; None = when there is more than one panel per cell
    crf: int = DEFAULT_CRF                # H.264 quality (0 lossless .. 51 worst)
    batch: int = 8                        # frames synthesised per call
    device: str = "cpu"
    overwrite: bool = False


@dataclasses.dataclass
class Progress:
    done: int
    total: int
    elapsed_s: float

    @property
    def fps(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float:
        return (self.total - self.done) / self.fps if self.done else math.inf

    def __str__(self) -> str:
        eta = "?" if math.isinf(self.eta_s) else f"{self.eta_s:.0f}s"
        return f"frame {self.done}/{self.total}  {self.fps:.1f} fps  ETA {eta}"


@dataclasses.dataclass
class VideoResult:
    path: Path
    frames: int
    size: tuple[int, int]   # (width, height) of the frames as composed, before even-padding
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass
class _Track:
    """One generator column: how it is moved and which latents it walks."""
    G: torch.nn.Module
    name: str
    output_space: bool           # StyleGAN2 in a transform motion: transform the output image instead
    keys: torch.Tensor           # [cells, K, num_ws, w_dim] W keyframes, or [cells, K, z_dim] Z keyframes
    c: torch.Tensor              # [1, c_dim] class label (Z walks map per frame)
    reference: torch.Tensor | None = None  # identity-pose images of the fixed latents (error map)


def load_generators(checkpoints, device) -> list[tuple[str, torch.nn.Module]]:
    """(name, generator) for every checkpoint path or already loaded generator."""
    import eqviz.networks

    loaded = []
    for item in checkpoints:
        if isinstance(item, torch.nn.Module):
            loaded.append((str(getattr(item, "kind", "generator")), item.to(device)))
        else:
            loaded.append((Path(item).stem, eqviz.networks.load_generator(str(item), device=device)))
    return loaded


class FrameSource:
    """Renders composed frames of a spec by index (index n, one past the end, is the loop's next frame)."""

    def __init__(self, spec: VideoSpec, generators=None):
        self.spec = spec
        if not spec.checkpoints:
            raise EqvizError("give at least one checkpoint to render.")
        if spec.error_scale <= 0:
            raise EqvizError(f"error scale must be positive, got {spec.error_scale}.")
        if spec.batch < 1:
            raise EqvizError(f"batch must be at least 1, got {spec.batch}.")
        self.device = torch.device(spec.device)
        self.motion = self._motion_with_session_pose(spec)
        self.count = frame_count(spec.frames, spec.duration, spec.fps)
        named = generators if generators is not None else load_generators(spec.checkpoints, self.device)
        self._check_transforms(named)
        if (spec.untransform or spec.error_map) and not self.motion.moves_input:
            raise EqvizError("--untransform and --error-map show how a translation or rotation is undone; add rotate or translate to --motion.")
        self.cells, self.keyframes = self._cell_seeds(spec)
        self.tracks = [self._make_track(name, G) for name, G in named]
        rows, cols = spec.grid or video_layout.auto_grid(self.cells)
        if rows * cols < self.cells:
            raise EqvizError(f"{self.cells} cells do not fit a {rows}x{cols} grid; give more rows/columns or fewer seeds.")
        tile = spec.size or max(t.G.img_resolution for t in self.tracks)
        if tile < 8:
            raise EqvizError(f"--size {tile} is too small; use at least 8 pixels.")
        views = self._views()
        show_labels = spec.labels if spec.labels is not None else len(views) > 1
        self.views = views
        self.layout = video_layout.Layout(rows, cols, tile, tuple(label for _, _, label in views) if show_labels else ())
        self.composer = video_layout.Composer(self.layout)
        self.poses = [pose(self.motion, i, self.count) for i in range(self.count + 1)]
        self._inverse_transforms = self._upload_inverse_transforms()
        self._extremes = []  # (min, max) per synthesis call of the batch being rendered, checked once per batch

    # ---- setup --------------------------------------------------------------------------------------
    @staticmethod
    def _motion_with_session_pose(spec) -> Motion:
        if spec.session is None:
            return spec.motion
        return dataclasses.replace(spec.motion, base_translate=tuple(spec.session.translate), base_rotate_deg=spec.session.rotate_deg)

    def _check_transforms(self, named) -> None:
        if not self.motion.moves_input:
            return
        fixed = [name for name, G in named if not supports_input_transform(G)]
        if fixed and len(fixed) == len(named):
            raise EqvizError(
                f"{', '.join(fixed)} is a StyleGAN2 generator without an input transform, so it cannot rotate or translate; "
                "use --motion walk, or put it side by side with a StyleGAN3 checkpoint (it then moves in output space)."
            )

    def _upload_inverse_transforms(self) -> dict:
        """pose -> inv(M) on the device, all uploaded at once: a batch's transforms are then gathered on
        the device, where `set_input_transform` would wait for the GPU on every frame. Inverted in float64
        and rounded to the buffer's float32, as `set_input_transform` does."""
        distinct = sorted(set(self.poses) | {((0.0, 0.0), 0.0)})
        inverses = np.stack([np.linalg.inv(transform_matrix(t, r)) for t, r in distinct])
        on_device = torch.from_numpy(inverses).to(torch.float32).to(self.device)
        return {p: on_device[k] for k, p in enumerate(distinct)}

    def _cell_seeds(self, spec) -> tuple[int, list[list[int]]]:
        """(cells, per-cell keyframe seeds). A walk splits the seeds evenly over the cells."""
        seeds = list(spec.seeds) if spec.seeds else []
        if spec.session is not None:
            if spec.grid not in (None, (1, 1)):
                raise EqvizError("a video from --session shows that one latent; drop --grid.")
            if self.motion.walks and not seeds:
                raise EqvizError("a walk from --session needs --seeds to walk through after the session's latent.")
            if seeds and not self.motion.walks:
                raise EqvizError("a video from --session shows the session's latent; --seeds only adds walk keyframes, so add walk to --motion or drop --seeds.")
            return 1, [seeds if self.motion.walks else []]
        seeds = seeds or [0]
        if not self.motion.walks:
            return len(seeds), [[s] for s in seeds]
        cells = spec.grid[0] * spec.grid[1] if spec.grid else 1
        if len(seeds) % cells or len(seeds) // cells < 2:
            raise EqvizError(
                f"a walk needs at least 2 seeds per grid cell and the same number for every cell; "
                f"{len(seeds)} seeds do not split over {cells} cell(s) (e.g. --seeds 0-{4 * cells - 1} for 4 per cell)."
            )
        per = len(seeds) // cells
        return cells, [seeds[k * per : (k + 1) * per] for k in range(cells)]

    def _make_track(self, name: str, G) -> _Track:
        spec, dev = self.spec, self.device
        output_space = self.motion.moves_input and not supports_input_transform(G)
        c = class_label(G, spec.class_idx, dev)
        z_walk = self.motion.walks and self.motion.walk_space == "z"
        if z_walk and spec.session is not None:
            raise EqvizError("a walk from --session interpolates in W; drop --walk-space z.")
        keys = []
        for cell_seeds in self.keyframes:
            if z_walk:
                zs = np.concatenate([z_from_seed(s, G.z_dim) for s in cell_seeds])
                keys.append(torch.from_numpy(zs).to(dev))
                continue
            ws = [session_ws(G, spec.session, dev)] if spec.session is not None else []
            ws += [seed_ws(G, s, spec.psi, spec.cutoff, spec.class_idx, dev) for s in cell_seeds]
            keys.append(torch.cat(ws))
        return _Track(G=G, name=name, output_space=output_space, keys=torch.stack(keys), c=c)

    def _views(self):
        """(track index, view, label lines) per panel of a cell."""
        views = []
        for k, track in enumerate(self.tracks):
            kind = str(getattr(track.G, "kind", ""))
            views.append((k, "image", (track.name, "output-space" if track.output_space else kind)))
            if self.spec.untransform:
                views.append((k, "untransformed", (track.name, "untransformed")))
            if self.spec.error_map:
                views.append((k, "error", (track.name, f"error 0-{self.spec.error_scale:g}")))
        return views

    # ---- rendering ----------------------------------------------------------------------------------
    def _ws(self, track: _Track, indices) -> torch.Tensor:
        """[F, cells, num_ws, w_dim] for the given frame indices."""
        if not self.motion.walks:
            return track.keys[:, 0].unsqueeze(0).expand(len(indices), *track.keys[:, 0].shape)
        frames = []
        for i in indices:
            t = i / self.count
            if self.motion.walk_space == "w":
                frames.append(torch.stack([catmull_rom_loop(keys, t) for keys in track.keys]))
            else:
                z = torch.cat([slerp_loop(keys, t) for keys in track.keys]).float()
                c = track.c.expand(z.shape[0], -1)
                frames.append(track.G.mapping(z, c, truncation_psi=self.spec.psi, truncation_cutoff=self.spec.cutoff))
        return torch.stack(frames)

    def _synthesize(self, G, ws: torch.Tensor, poses) -> torch.Tensor:
        """ws [F, cells, ...] at per-frame poses -> [F, cells, C, H, W] in one call: each frame's pose is
        its samples' own input transform, so a rotating batch renders as one batch, like a walk.
        StyleGAN2 has no input transform; it only ever gets the identity pose here."""
        F, cells = ws.shape[:2]
        flat = ws.reshape(-1, *ws.shape[2:])
        if supports_input_transform(G):
            inverse = torch.stack([self._inverse_transforms[p] for p in poses]).repeat_interleave(cells, dim=0)
            img = G.synthesis(flat, noise_mode=self.spec.noise_mode, input_transforms=inverse)
        else:
            img = G.synthesis(flat, noise_mode=self.spec.noise_mode)
        self._extremes.append(torch.stack(img.aminmax()))  # NaN and +-inf survive min / max
        return img.reshape(F, cells, *img.shape[1:])

    def _moved(self, track: _Track, ws, poses) -> torch.Tensor:
        """Images at the frames' poses: through the input transform, or (StyleGAN2) in output space."""
        if not self.motion.moves_input:
            return self._synthesize(track.G, ws, [((0.0, 0.0), 0.0)] * len(poses))
        if not track.output_space:
            return self._synthesize(track.G, ws, poses)
        from eqviz.metrics.equivariance.measure import apply_fractional_rotation, apply_fractional_translation

        still = self._synthesize(track.G, ws, [((0.0, 0.0), 0.0)] * len(poses))
        frames = []
        for img, ((tx, ty), rotate_deg) in zip(still, poses):
            mask = torch.ones_like(img)
            if rotate_deg % 360 != 0:
                img, m = apply_fractional_rotation(img, math.radians(rotate_deg))
                mask = mask * m
            if (tx, ty) != (0.0, 0.0):
                img, m = apply_fractional_translation(img, tx, ty)
                mask = mask * m
            frames.append(_masked(img, mask))
        return torch.stack(frames)

    def _reference(self, track: _Track, ws) -> torch.Tensor:
        """Identity-pose images of the same latents: what an exactly equivariant generator undoes to."""
        identity = [((0.0, 0.0), 0.0)] * ws.shape[0]
        if self.motion.walks:
            return self._synthesize(track.G, ws, identity)
        if track.reference is None:
            track.reference = self._synthesize(track.G, ws[:1], identity[:1])[0]
        return track.reference.unsqueeze(0).expand(ws.shape[0], *track.reference.shape)

    def _undone(self, images, poses):
        """(untransformed images, validity masks), both [F, cells, C|1, H, W]."""
        from eqviz.metrics.equivariance.measure import untransform

        imgs, masks = [], []
        for img, ((tx, ty), rotate_deg) in zip(images, poses):
            u, m = untransform(img, translate=(tx, ty), rotate_rad=math.radians(rotate_deg))
            imgs.append(u)
            masks.append(m.expand_as(u) if m.dim() == u.dim() else m.unsqueeze(1).expand_as(u))
        return torch.stack(imgs), torch.stack(masks)

    def render(self, indices) -> list[np.ndarray]:
        """Composed uint8 frames [H, W, 3] for the frame indices (0 <= i <= count)."""
        return self.collect(self.launch(indices))

    def collect(self, batch: "_LaunchedBatch") -> list[np.ndarray]:
        """The frames of a launched batch, once they are on the host; raises for NaN / inf images."""
        if batch.ready is not None:
            batch.ready.synchronize()
        check_finite(batch.extremes)  # the generator's NaN / inf, checked once per batch
        return list(batch.frames.numpy())

    @torch.no_grad()
    def launch(self, indices) -> "_LaunchedBatch":
        """Starts rendering a batch: on a GPU this only queues work and returns at once.

        Everything up to the composed frames stays on the device; the batch then comes back in one
        asynchronous copy into pinned memory. The host never waits here, so it queues the next
        batch while the GPU still works on this one (`collect` waits): at small sizes, where
        launching kernels takes as long as running them, waiting per batch would serialise the two.
        """
        indices = list(indices)
        self._extremes = []
        poses = [self.poses[i] for i in indices]
        tile = self.layout.tile
        panels = []  # per view: uint8 [F, cells, tile, tile, 3]
        for k, track in enumerate(self.tracks):
            ws = self._ws(track, indices)
            moved = self._moved(track, ws, poses)
            wanted = {view for t, view, _ in self.views if t == k}
            undone = masks = None
            if wanted & {"untransformed", "error"}:
                undone, masks = self._undone(moved, poses)
            for t, view, _ in self.views:
                if t != k:
                    continue
                if view == "image":
                    panels.append(self._to_tiles(moved, tile))
                elif view == "untransformed":
                    panels.append(self._to_tiles(_masked(undone, masks), tile))
                else:
                    ref = self._reference(track, ws)
                    err = ((undone - ref) ** 2 * masks).mean(dim=2, keepdim=True).sqrt()  # [F, cells, 1, H, W]
                    err = video_layout.resize_panels(err.flatten(0, 1), tile).clamp(min=0)
                    colours = video_layout.error_colours(err[:, 0], self.spec.error_scale)
                    panels.append(colours.reshape(len(indices), self.cells, tile, tile, 3))
        frames = self.composer.compose_batch(panels)
        extremes = torch.stack(self._extremes)
        if not frames.is_cuda:
            return _LaunchedBatch(frames, extremes, None)
        on_host = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True).copy_(t, non_blocking=True)
                   for t in (frames, extremes)]
        ready = torch.cuda.Event()
        ready.record()
        return _LaunchedBatch(*on_host, ready)

    def _to_tiles(self, images: torch.Tensor, tile: int) -> torch.Tensor:
        F, cells = images.shape[:2]
        resized = video_layout.resize_panels(images.flatten(0, 1).float(), tile)
        return video_layout.to_uint8_tensor(resized).reshape(F, cells, tile, tile, 3)


@dataclasses.dataclass
class _LaunchedBatch:
    frames: torch.Tensor              # uint8 [F, H, W, 3] on the host (filled once `ready` has passed)
    extremes: torch.Tensor            # (min, max) of every synthesis call, for the NaN / inf check
    ready: "torch.cuda.Event | None"  # recorded after the copies; None when rendered on the CPU


def _masked(img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pixels with no valid source become black (-1), not mid-grey."""
    return img * mask - (1 - mask)


def render_video(spec: VideoSpec, progress=None, cancel: threading.Event | None = None, generators=None) -> VideoResult:
    """Renders and encodes the whole video; the file appears only when it is complete.

    progress: called with a `Progress` after every batch. cancel: an Event; when set, rendering stops,
    the partial file is removed and `Cancelled` is raised. generators: already loaded (name, G) pairs
    to use instead of loading spec.checkpoints (the app passes private copies).
    """
    writer = open_writer(spec.out, spec.fps, crf=spec.crf, overwrite=spec.overwrite,  # refuses early to overwrite
                         encoder_threads=encoder_threads_beside(spec.device))
    source = FrameSource(spec, generators=generators)
    start = time.perf_counter()
    with ThreadedWriter(writer, threads=writer_threads(spec.out, spec.device)) as encoder:
        launched, done = None, 0  # one batch in flight while the previous one is handed to the encoder

        def hand_over(batch) -> int:
            for frame in source.collect(batch):
                encoder.write(frame)
            if progress is not None:
                progress(Progress(done + len(batch.frames), source.count, time.perf_counter() - start))
            return done + len(batch.frames)

        for first in range(0, source.count, spec.batch):
            if cancel is not None and cancel.is_set():
                raise Cancelled("video export cancelled; no file was written.")
            following = source.launch(range(first, min(first + spec.batch, source.count)))
            if launched is not None:
                done = hand_over(launched)
            launched = following
        if launched is not None:
            hand_over(launched)
        path = encoder.commit()
    return VideoResult(path=path, frames=source.count, size=source.layout.size, seconds=time.perf_counter() - start)
