"""Videos of one or more generators: rotation, translation and looping latent walks, in grids.

`render_video(spec)` is the library entry the CLI (`eqviz video`) and the app's export dialog share.
Frames are synthesised in batches on the calling thread and handed to an encoder thread through a
bounded queue, so encoding overlaps rendering and memory does not grow with the video's length.
"""
import dataclasses
import enum
import math
import time
from pathlib import Path

import numpy as np
import torch

from eqviz.devices import module_on
from eqviz.errors import InvalidArgument, stop_if_cancelled
from eqviz.progress import Progress
from eqviz.video import layout as video_layout
from eqviz.video.limits import check_cells, check_frame_count, check_frame_size, check_tile, check_walk_seeds
from eqviz.core.colormaps import error_colours
from eqviz.core.edits import edit_offsets
from eqviz.core.image_quality import squared_error_map
from eqviz.core.images import images_to_rgb8
from eqviz.core.input_transform import IDENTITY_POSE, inverse_transforms, supports_input_transform, synthesize
from eqviz.core.latents import class_label, seed_ws, session_ws, z_from_seed
from eqviz.core.rendering import check_finite, session_pose
from eqviz.core.resampling import apply_fractional_rotation, apply_fractional_translation, resize_panels, untransform
from eqviz.video.motions import Motion, catmull_rom_loop, frame_count, pose, slerp_loop, sweep_amount
from eqviz.video.writer import DEFAULT_CRF, ThreadedWriter, encoder_threads_beside, open_writer, writer_threads


@dataclasses.dataclass
class VideoSpec:
    checkpoints: list                     # one column each: a checkpoint path, a loaded generator, or (name, generator)
    out: str                              # .mp4 / .mov / .mkv (H.264), .gif, or a folder name for PNG frames
    motion: Motion = Motion()             # rotate / translate / walk and their settings
    seeds: list[int] | None = None        # one per grid cell; a walk splits them into per-cell keyframes
    grid: tuple[int, int] | None = None   # (rows, cols) of cells; None = near-square
    frames: int | None = None             # frame count, or
    duration: float | None = None         # seconds (x fps); neither = 4 s
    fps: float = 30.0
    size: int | None = None               # panel size in pixels (default: the largest generator's resolution)
    psi: float = 1.0                      # truncation psi          } of the seeds' latents; a session
    cutoff: int | None = None             # truncate only the first `cutoff` ws       } brings its own:
    noise_mode: str = "const"             # StyleGAN2 noise: const / random / none    } leave these
    class_idx: int | None = None          # class of conditional models               } unset with one
    session: object | None = None         # a eqviz.core.session.Session to start from (latent, pose, truncation, ...)
    edits: list = dataclasses.field(default_factory=list)  # eqviz.directions Edits on every frame, after truncation
    untransform: bool = False             # add a panel with the input transform undone
    error_map: bool = False               # add a panel with the per-pixel equivariance error (core.colormaps scale)
    labels: bool | None = None            # label panels; None = when there is more than one panel per cell
    crf: int = DEFAULT_CRF                # H.264 quality (0 lossless .. 51 worst)
    batch: int = 8                        # frames synthesised per call
    device: str = "cpu"
    overwrite: bool = False


@dataclasses.dataclass
class VideoResult:
    path: Path
    frames: int
    size: tuple[int, int]   # (width, height) of the frames as composed, before even-padding
    seconds: float          # wall time the rendering took
    file_fps: float         # the video's own frame rate (playback)

    @property
    def duration(self) -> float:
        """Playback length of the video, seconds."""
        return self.frames / self.file_fps

    @property
    def render_fps(self) -> float:
        """Frames rendered per second of wall time: the speed, not the video's frame rate."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class View(str, enum.Enum):
    """What a panel of a cell shows."""
    IMAGE = "image"                  # the generator's output at the frame's pose
    UNTRANSFORMED = "untransformed"  # that output with the pose undone
    ERROR = "error"                  # per-pixel error between the undone output and the unposed one


SEED_SETTINGS = ("psi", "cutoff", "noise_mode", "class_idx")  # what a session owns when there is one


def latent_settings(spec: VideoSpec) -> dict:
    """Truncation psi and cutoff, noise mode and class of every frame: the session's when there is one,
    else the spec's."""
    source = spec.session if spec.session is not None else spec
    return {name: getattr(source, name) for name in SEED_SETTINGS}


def check_spec(spec: VideoSpec) -> None:
    """Refuses settings that cannot make a video, before any generator is loaded."""
    if not spec.checkpoints:
        raise InvalidArgument("give at least one checkpoint to render.", "checkpoints")
    if spec.session is not None:
        for name in SEED_SETTINGS:
            if getattr(spec, name) != getattr(VideoSpec, name):
                raise InvalidArgument(f"a video of a session renders with the session's {name}; set it on the session "
                                      "instead.", name)
    if spec.batch < 1:
        raise InvalidArgument(f"batch must be at least 1, got {spec.batch}.", "batch")
    check_tile(spec.size)
    if spec.grid is not None:
        check_cells(spec.grid[0] * spec.grid[1])
    motion = motion_with_session_pose(spec)
    if spec.seeds and not motion.walks:
        check_cells(len(spec.seeds), "seeds")
    if spec.seeds:
        check_walk_seeds(len(spec.seeds))
    check_frame_count(frame_count(spec.frames, spec.duration, spec.fps))
    if "edit" in motion.kinds and not motion.sweeps:
        raise InvalidArgument("the edit motion swings along directions; give them (e.g. dirs.npz:0).", "edit")
    if (spec.untransform or spec.error_map) and not motion.moves_input:
        raise InvalidArgument("the untransformed and error-map panels show how a translation or rotation is undone; "
                              "add rotate or translate to the motion.", "motion")
    if spec.session is not None:
        if spec.grid not in (None, (1, 1)):
            raise InvalidArgument("a video of a session shows that one latent; leave the grid unset.", "grid")
        if motion.walks and not spec.seeds:
            raise InvalidArgument("a walk from a session needs seeds to walk through after the session's latent.", "seeds")
        if spec.seeds and not motion.walks:
            raise InvalidArgument("a video of a session shows the session's latent; seeds only add walk keyframes, "
                                  "so add walk to the motion or give no seeds.", "seeds")
        if motion.walks and motion.walk_space == "z":
            raise InvalidArgument("a walk from a session interpolates in W; use walk space w.", "walk_space")


def motion_with_session_pose(spec: VideoSpec) -> Motion:
    """The spec's motion, starting from the session's pose when there is a session."""
    if spec.session is None:
        return spec.motion
    translate, rotate_deg = session_pose(spec.session)
    return dataclasses.replace(spec.motion, base_translate=translate, base_rotate_deg=rotate_deg)


def cell_keyframes(spec: VideoSpec, motion: Motion) -> list[list[int]]:
    """Per grid cell, the seeds it shows (one) or walks through; a walk splits the seeds evenly over the cells."""
    seeds = list(spec.seeds) if spec.seeds else []
    if spec.session is not None:
        return [seeds]
    seeds = seeds or [0]
    if not motion.walks:
        return [[s] for s in seeds]
    cells = spec.grid[0] * spec.grid[1] if spec.grid else 1
    if len(seeds) % cells or len(seeds) // cells < 2:
        raise InvalidArgument(
            f"a walk needs at least 2 seeds per grid cell and the same number for every cell; "
            f"{len(seeds)} seeds do not split over {cells} cell(s) (e.g. seeds 0-{4 * cells - 1} for 4 per cell).", "seeds")
    per = len(seeds) // cells
    return [seeds[k * per : (k + 1) * per] for k in range(cells)]


def load_generators(checkpoints, device) -> list[tuple[str, torch.nn.Module]]:
    """(name, generator) for every checkpoint path, loaded generator or (name, generator) pair."""
    import eqviz.networks

    loaded = []
    for item in checkpoints:
        if isinstance(item, tuple):
            name, G = item
            loaded.append((str(name), module_on(G, device)))
        elif isinstance(item, torch.nn.Module):
            loaded.append((str(getattr(item, "kind", "generator")), module_on(item, device)))
        else:
            loaded.append((Path(item).stem, eqviz.networks.load_generator(str(item), device=device)))
    return loaded


def check_generators_move(named, motion: Motion) -> None:
    """A transform motion needs at least one generator with an input transform (the others move in output space)."""
    fixed = [name for name, G in named if not supports_input_transform(G)]
    if motion.moves_input and fixed and len(fixed) == len(named):
        raise InvalidArgument(
            f"{', '.join(fixed)} is a StyleGAN2 generator without an input transform, so it cannot rotate or translate; "
            "use the walk motion, or put it side by side with a StyleGAN3 checkpoint (it then moves in output space).",
            "motion")


@dataclasses.dataclass
class Track:
    """One generator column: how it is moved and which latents it walks."""
    G: torch.nn.Module
    name: str
    output_space: bool           # StyleGAN2 in a transform motion: transform the output image instead
    keys: torch.Tensor           # [cells, K, num_ws, w_dim] W keyframes, or [cells, K, z_dim] Z keyframes
    c: torch.Tensor              # [1, c_dim] class label (Z walks map per frame)
    reference: torch.Tensor | None = None  # identity-pose images of the fixed latents (error map)
    edit_offsets: tuple | None = None      # ([num_ws, w_dim] of the spec's edits, [num_ws, w_dim] of the sweep at 1)


def make_track(spec: VideoSpec, motion: Motion, keyframes, name: str, G, device) -> Track:
    """The column of generator G: its keyframe latents per cell."""
    z_walk = motion.walks and motion.walk_space == "z"
    # A session's edits move every frame, the walk's seeds too, so they join the spec's fixed edits.
    session = None if spec.session is None else dataclasses.replace(spec.session, edits=[])
    edits = [*spec.edits, *(spec.session.edits if spec.session is not None else [])]
    settings = latent_settings(spec)
    keys = []
    for cell_seeds in keyframes:
        if z_walk:
            keys.append(torch.from_numpy(np.concatenate([z_from_seed(s, G.z_dim) for s in cell_seeds])).to(device))
            continue
        ws = [session_ws(G, session, device)] if session is not None else []
        ws += [seed_ws(G, s, settings["psi"], settings["cutoff"], settings["class_idx"], device) for s in cell_seeds]
        keys.append(torch.cat(ws))
    offsets = None
    if edits or motion.sweeps:
        offsets = tuple(edit_offsets(chosen, G.num_ws, G.w_dim, device) for chosen in (edits, motion.sweeps))
    return Track(G=G, name=name, output_space=motion.moves_input and not supports_input_transform(G),
                 keys=torch.stack(keys), c=class_label(G, settings["class_idx"], device), edit_offsets=offsets)


class PoseTable:
    """The inverse transforms of every pose a video uses, uploaded to the device once: a batch's
    transforms are then gathered on the device instead of being sent frame by frame."""

    def __init__(self, poses, device):
        distinct = sorted(set(poses) | {IDENTITY_POSE})
        on_device = inverse_transforms(distinct, device)
        self._rows = {p: on_device[k] for k, p in enumerate(distinct)}

    def transforms(self, poses, repeats: int) -> torch.Tensor:
        """[len(poses) * repeats, 3, 3]: each pose's inverse transform, repeated for the cells of its frame."""
        return torch.stack([self._rows[p] for p in poses]).repeat_interleave(repeats, dim=0)


def move_in_output_space(images: torch.Tensor, poses) -> torch.Tensor:
    """Images [F, ...] of an unposed generator moved by their frames' poses after synthesis (StyleGAN2
    beside StyleGAN3 in a transform motion); pixels with no source turn black."""
    frames = []
    for img, ((tx, ty), rotate_deg) in zip(images, poses):
        mask = torch.ones_like(img)
        if rotate_deg % 360 != 0:
            img, m = apply_fractional_rotation(img, math.radians(rotate_deg))
            mask = mask * m
        if (tx, ty) != (0.0, 0.0):
            img, m = apply_fractional_translation(img, tx, ty)
            mask = mask * m
        frames.append(masked(img, mask))
    return torch.stack(frames)


def undo_poses(images: torch.Tensor, poses):
    """(images with their frames' poses undone, validity masks), both [F, cells, C, H, W]."""
    imgs, masks = [], []
    for img, (translate, rotate_deg) in zip(images, poses):
        u, m = untransform(img, translate=translate, rotate_deg=rotate_deg)
        imgs.append(u)
        masks.append(m.expand_as(u))
    return torch.stack(imgs), torch.stack(masks)


def masked(img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pixels with no valid source become black (-1), not mid-grey."""
    return img * mask - (1 - mask)


def to_tiles(images: torch.Tensor, tile: int) -> torch.Tensor:
    """[F, cells, C, H, W] images -> uint8 [F, cells, tile, tile, 3]."""
    F, cells = images.shape[:2]
    resized = resize_panels(images.flatten(0, 1).float(), tile)
    return images_to_rgb8(resized).reshape(F, cells, tile, tile, 3)


@dataclasses.dataclass
class LaunchedBatch:
    """A batch of composed frames on its way to the host."""
    frames: torch.Tensor              # uint8 [F, H, W, 3] on the host (filled once `ready` has passed)
    extremes: torch.Tensor            # (min, max) of every synthesis call, for the NaN / inf check
    ready: "torch.cuda.Event | None"  # recorded after the copies; None when rendered on the CPU


def start_copy_to_host(frames: torch.Tensor, extremes: torch.Tensor) -> LaunchedBatch:
    """On a GPU: one asynchronous copy into pinned memory, so the host can queue the next batch meanwhile."""
    if not frames.is_cuda:
        return LaunchedBatch(frames, extremes, None)
    on_host = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True).copy_(t, non_blocking=True) for t in (frames, extremes)]
    ready = torch.cuda.Event()
    ready.record()
    return LaunchedBatch(*on_host, ready)


class FrameSource:
    """Renders composed frames of a spec by index (index n, one past the end, is the loop's next frame)."""

    def __init__(self, spec: VideoSpec, generators=None):
        check_spec(spec)
        self.spec = spec
        self.settings = latent_settings(spec)
        self.device = torch.device(spec.device)
        self.motion = motion_with_session_pose(spec)
        self.count = frame_count(spec.frames, spec.duration, spec.fps)
        named = generators if generators is not None else load_generators(spec.checkpoints, self.device)
        check_generators_move(named, self.motion)
        keyframes = cell_keyframes(spec, self.motion)
        self.cells = len(keyframes)
        self.tracks = [make_track(spec, self.motion, keyframes, name, G, self.device) for name, G in named]
        rows, cols = spec.grid or video_layout.auto_grid(self.cells)
        if rows * cols < self.cells:
            raise InvalidArgument(f"{self.cells} cells do not fit a {rows}x{cols} grid; give more rows/columns or fewer seeds.", "grid")
        self.poses = [pose(self.motion, i, self.count) for i in range(self.count + 1)]
        self.arrange(rows, cols)

    def arrange(self, rows: int, cols: int) -> None:
        """Panels, labels, the frame layout and the pose table, once `tracks` and `poses` are set."""
        tile = self.spec.size or max(t.G.img_resolution for t in self.tracks)
        self.views = self.panel_views()
        show_labels = self.spec.labels if self.spec.labels is not None else len(self.views) > 1
        labels = tuple(label for _, _, label in self.views) if show_labels else ()
        self.layout = video_layout.Layout(rows, cols, tile, labels, widths=(tile,) * len(self.views))  # unlabelled too
        check_frame_size(*self.layout.size)
        self.composer = video_layout.Composer(self.layout)
        self.pose_table = PoseTable(self.poses, self.device)

    def panel_views(self) -> list[tuple[int, View, tuple[str, str]]]:
        """(track index, view, label lines) per panel of a cell."""
        views = []
        for k, track in enumerate(self.tracks):
            kind = str(getattr(track.G, "kind", ""))
            views.append((k, View.IMAGE, (track.name, "output-space" if track.output_space else kind)))
            if self.spec.untransform:
                views.append((k, View.UNTRANSFORMED, (track.name, "untransformed")))
            if self.spec.error_map:
                views.append((k, View.ERROR, (track.name, "error, log 1e-6..1")))
        return views

    # ---- rendering ----------------------------------------------------------------------------------
    def latents(self, track: Track, indices) -> torch.Tensor:
        """ws [F, cells, num_ws, w_dim] for the given frame indices, edited (after truncation) and swept."""
        ws = self.walked_latents(track, indices)
        if track.edit_offsets is None:
            return ws
        static, sweep = track.edit_offsets
        amounts = torch.tensor([sweep_amount(i, self.count) for i in indices], device=ws.device).view(-1, 1, 1, 1)
        return ws + static + amounts * sweep

    def walked_latents(self, track: Track, indices) -> torch.Tensor:
        """ws [F, cells, num_ws, w_dim] for the given frame indices, before edits."""
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
                frames.append(track.G.mapping(z, c, truncation_psi=self.settings["psi"], truncation_cutoff=self.settings["cutoff"]))
        return torch.stack(frames)

    def synthesize_frames(self, G, ws: torch.Tensor, poses, extremes: list) -> torch.Tensor:
        """ws [F, cells, ...] at per-frame poses -> [F, cells, C, H, W] in one call: each frame's pose is
        its samples' own input transform, so a rotating batch renders as one batch, like a walk.
        Appends the images' (min, max) to `extremes` (NaN and +-inf survive min / max)."""
        F, cells = ws.shape[:2]
        transforms = self.pose_table.transforms(poses, cells) if supports_input_transform(G) else None
        img = synthesize(G, ws.reshape(-1, *ws.shape[2:]), transforms, noise_mode=self.settings["noise_mode"])
        extremes.append(torch.stack(img.aminmax()))
        return img.reshape(F, cells, *img.shape[1:])

    def moved(self, track: Track, ws, poses, extremes: list) -> torch.Tensor:
        """Images at the frames' poses: through the input transform, or (StyleGAN2) in output space."""
        if self.motion.moves_input and not track.output_space:
            return self.synthesize_frames(track.G, ws, poses, extremes)
        still = self.synthesize_frames(track.G, ws, [IDENTITY_POSE] * len(poses), extremes)
        return move_in_output_space(still, poses) if self.motion.moves_input else still

    def reference(self, track: Track, ws, extremes: list) -> torch.Tensor:
        """Identity-pose images of the same latents: what an exactly equivariant generator undoes to."""
        identity = [IDENTITY_POSE] * ws.shape[0]
        if self.motion.changes_latent:
            return self.synthesize_frames(track.G, ws, identity, extremes)
        if track.reference is None:
            track.reference = self.synthesize_frames(track.G, ws[:1], identity[:1], extremes)[0]
        return track.reference.unsqueeze(0).expand(ws.shape[0], *track.reference.shape)

    def render(self, indices) -> list[np.ndarray]:
        """Composed uint8 frames [H, W, 3] for the frame indices (0 <= i <= count)."""
        return self.collect(self.launch(indices))

    def collect(self, batch: LaunchedBatch) -> list[np.ndarray]:
        """The frames of a launched batch, once they are on the host; raises for NaN / inf images."""
        if batch.ready is not None:
            batch.ready.synchronize()
        check_finite(batch.extremes)  # the generator's NaN / inf, checked once per batch
        return list(batch.frames.numpy())

    @torch.no_grad()
    def launch(self, indices) -> LaunchedBatch:
        """Starts rendering a batch: on a GPU this only queues work and returns at once.

        Everything up to the composed frames stays on the device; the host never waits here, so it
        queues the next batch while the GPU still works on this one (`collect` waits): at small sizes,
        where launching kernels takes as long as running them, waiting per batch would serialise the two.
        """
        indices = list(indices)
        poses = [self.poses[i] for i in indices]
        tile = self.layout.tile
        extremes, panels = [], []  # panels: per view, uint8 [F, cells, tile, tile, 3]
        for k, track in enumerate(self.tracks):
            ws = self.latents(track, indices)
            moved = self.moved(track, ws, poses, extremes)
            wanted = {view for t, view, _ in self.views if t == k}
            if wanted & {View.UNTRANSFORMED, View.ERROR}:
                undone, masks = undo_poses(moved, poses)
            for view in (v for t, v, _ in self.views if t == k):
                if view is View.IMAGE:
                    panels.append(to_tiles(moved, tile))
                elif view is View.UNTRANSFORMED:
                    panels.append(to_tiles(masked(undone, masks), tile))
                else:
                    ref = self.reference(track, ws, extremes)
                    err = squared_error_map(undone, ref, masks).unsqueeze(2)  # [F, cells, 1, H, W]
                    err = resize_panels(err.flatten(0, 1), tile).clamp(min=0)
                    panels.append(error_colours(err[:, 0]).reshape(len(indices), self.cells, tile, tile, 3))
        return start_copy_to_host(self.composer.compose_batch(panels), torch.stack(extremes))


def render_video(spec: VideoSpec, progress=None, cancel=None, generators=None, make_source=FrameSource) -> VideoResult:
    """Renders and encodes the whole video; the file appears only when it is complete.

    progress: called with a `Progress` (frames) after every batch. cancel: a callable polled between
    batches; once it returns True the partial file is removed and `Cancelled` is raised.
    generators: already loaded (name, G) pairs to use instead of loading spec.checkpoints.
    make_source: (spec, generators) -> the FrameSource whose frames are encoded (eqviz.keyframes has its own).
    """
    check_spec(spec)
    writer = open_writer(spec.out, spec.fps, crf=spec.crf, overwrite=spec.overwrite,  # refuses early to overwrite
                         encoder_threads=encoder_threads_beside(spec.device))
    source = make_source(spec, generators)
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
            stop_if_cancelled(cancel, "video export", done, source.count)
            following = source.launch(range(first, min(first + spec.batch, source.count)))
            if launched is not None:
                done = hand_over(launched)
            launched = following
        if launched is not None:
            hand_over(launched)
        path = encoder.commit()
    return VideoResult(path=path, frames=source.count, size=source.layout.size, seconds=time.perf_counter() - start,
                       file_fps=writer.file_fps or spec.fps)
