"""Video export panel: a rotation / translation / latent-walk video of the current view, optionally
side by side with other checkpoints, rendered in the background by `eqviz.video.render.render_video`."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.errors import EqvizError
from eqviz.app.panel import JobHandle, Panel, PanelContext
from eqviz.app.widgets import file_dialog

CHECKPOINT_EXTENSIONS = (".pkl", ".safetensors", ".*")


class PolledEvent:
    """The Event-like object the renderers poll, backed by the job's `cancelled()` callable."""

    def __init__(self, cancelled):
        self._cancelled = cancelled

    def is_set(self) -> bool:
        return bool(self._cancelled())


def load_named(paths) -> list:
    """(name, generator) for extra checkpoints to compare against (loaded in the job's thread)."""
    from eqviz.video.render import load_generators

    return load_generators(list(paths), "cpu")


def current_generator(ctx: PanelContext) -> tuple[str, object]:
    """A private copy of the app's generator, named after its file."""
    G = ctx.clone_generator()
    if G is None or ctx.model is None:
        raise EqvizError("load a checkpoint first.")
    return Path(ctx.model.path).stem, G


@dataclasses.dataclass
class VideoExportSettings:
    rotate: bool = True
    translate: bool = False
    walk: bool = False
    turns: float = 1.0
    radius: float = 0.1
    path: str = "circle"
    walk_space: str = "w"
    walk_seeds: str = ""           # keyframes after the current latent, e.g. "1-3"
    frames: int = 120
    fps: float = 30.0
    size: int = 0                  # 0 = the generator's resolution
    untransform: bool = False
    error_map: bool = False
    compare: tuple[str, ...] = ()  # extra checkpoints, side by side after the current one
    out: str = "eqviz_video.mp4"
    crf: int = 18
    overwrite: bool = False


def build_video_spec(settings: VideoExportSettings, session):
    """The VideoSpec for the current view (its latent, truncation and pose) and the panel's settings."""
    from eqviz.core.latents import parse_seeds
    from eqviz.video.motions import Motion
    from eqviz.video.render import VideoSpec

    kinds = tuple(k for k, on in (("walk", settings.walk), ("rotate", settings.rotate), ("translate", settings.translate)) if on)
    if not kinds:
        raise EqvizError("choose a motion: rotate, translate or walk.")
    if settings.walk and not settings.walk_seeds:
        raise EqvizError("a walk needs walk seeds to loop through after the current latent, e.g. 1-3.")
    seeds = parse_seeds(settings.walk_seeds) if settings.walk else None
    motion = Motion(kinds=kinds, turns=settings.turns, radius=settings.radius, path=settings.path, walk_space=settings.walk_space)
    return VideoSpec(
        checkpoints=["current", *settings.compare],
        out=settings.out,
        motion=motion,
        seeds=seeds,
        frames=settings.frames,
        fps=settings.fps,
        size=settings.size or None,
        psi=session.psi,
        cutoff=session.cutoff,
        noise_mode=session.noise_mode,
        class_idx=session.class_idx,
        session=session,
        untransform=settings.untransform,
        error_map=settings.error_map,
        crf=settings.crf,
        overwrite=settings.overwrite,
    )


def export_video(ctx: PanelContext, settings: VideoExportSettings, progress, cancelled) -> object:
    """The job body: private generator copies, then `render_video` (runs on the job's thread)."""
    from eqviz.video.render import render_video

    spec = build_video_spec(settings, ctx.state.session_for_saving())
    generators = [current_generator(ctx), *load_named(settings.compare)]
    return render_video(spec, progress=lambda p: progress(p.done / p.total, str(p)), cancel=PolledEvent(cancelled),
                        generators=generators)


class CompareList:
    """A list of extra checkpoints to show side by side, with add / clear buttons."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.paths: list[str] = []

    def build(self) -> None:
        file_dialog(f"{self.prefix}_add_dialog", "Add a checkpoint to compare", self.add, CHECKPOINT_EXTENSIONS)
        with dpg.group(horizontal=True):
            dpg.add_button(label="Compare with...", callback=lambda *_: dpg.show_item(f"{self.prefix}_add_dialog"))
            dpg.add_button(label="Clear", callback=self.clear)
        dpg.add_text("side by side: current checkpoint only", tag=f"{self.prefix}_list", wrap=400, color=(150, 150, 150))

    def add(self, path: str) -> None:
        if path not in self.paths:
            self.paths.append(path)
        self._show()

    def clear(self) -> None:
        self.paths = []
        self._show()

    def _show(self) -> None:
        names = ", ".join(Path(p).name for p in self.paths)
        dpg.set_value(f"{self.prefix}_list", f"side by side: current checkpoint, {names}" if names else "side by side: current checkpoint only")


class VideoExportPanel(Panel):
    title = "Video export"
    default_open = False

    def __init__(self):
        self.job: JobHandle | None = None
        self.compare = CompareList("vid_compare")

    def build(self, ctx: PanelContext) -> None:
        file_dialog("vid_out_dialog", "Export video to", lambda p: dpg.set_value("vid_out", p), (".mp4", ".gif", ".*"),
                    default_filename="eqviz_video.mp4")
        d = VideoExportSettings()
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="rotate", tag="vid_rotate", default_value=d.rotate)
            dpg.add_checkbox(label="translate", tag="vid_translate", default_value=d.translate)
            dpg.add_checkbox(label="walk", tag="vid_walk", default_value=d.walk)
        dpg.add_input_float(label="turns", tag="vid_turns", default_value=d.turns, width=120, format="%.2f")
        with dpg.group(horizontal=True):
            dpg.add_input_float(label="radius", tag="vid_radius", default_value=d.radius, width=120, format="%.3f")
            dpg.add_combo(["circle", "line"], tag="vid_path", default_value=d.path, width=80)
        with dpg.group(horizontal=True):
            dpg.add_input_text(label="walk seeds", tag="vid_walk_seeds", default_value=d.walk_seeds, hint="e.g. 1-3", width=120)
            dpg.add_combo(["w", "z"], tag="vid_walk_space", default_value=d.walk_space, width=50)
        dpg.add_text("The video starts from the current view (latent, truncation, pose); a walk loops through "
                     "the walk seeds and back.", wrap=400, color=(150, 150, 150))
        with dpg.group(horizontal=True):
            dpg.add_input_int(label="frames", tag="vid_frames", default_value=d.frames, min_value=1, min_clamped=True, width=100)
            dpg.add_input_float(label="fps", tag="vid_fps", default_value=d.fps, min_value=1, min_clamped=True, width=100, format="%.1f")
        dpg.add_input_int(label="size (0 = native)", tag="vid_size", default_value=d.size, min_value=0, min_clamped=True, width=100)
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="untransformed", tag="vid_untransform", default_value=d.untransform)
            dpg.add_checkbox(label="error map", tag="vid_error_map", default_value=d.error_map)
        self.compare.build()
        with dpg.group(horizontal=True):
            dpg.add_input_text(label="", tag="vid_out", default_value=d.out, width=260)
            dpg.add_button(label="Browse...", callback=lambda *_: dpg.show_item("vid_out_dialog"))
        with dpg.group(horizontal=True):
            dpg.add_input_int(label="crf", tag="vid_crf", default_value=d.crf, min_value=0, max_value=51,
                              min_clamped=True, max_clamped=True, width=100)
            dpg.add_checkbox(label="overwrite", tag="vid_overwrite", default_value=d.overwrite)
        with dpg.group(horizontal=True):
            dpg.add_button(label="Export", tag="vid_export", callback=lambda *_: self._export(ctx))
            dpg.add_button(label="Cancel", tag="vid_cancel", enabled=False, callback=self._cancel)
        dpg.add_progress_bar(tag="vid_progress", default_value=0.0, width=-1, overlay="")

    def read_settings(self) -> VideoExportSettings:
        v = dpg.get_value
        return VideoExportSettings(
            rotate=v("vid_rotate"), translate=v("vid_translate"), walk=v("vid_walk"),
            turns=v("vid_turns"), radius=v("vid_radius"), path=v("vid_path"),
            walk_space=v("vid_walk_space"), walk_seeds=v("vid_walk_seeds").strip(),
            frames=v("vid_frames"), fps=v("vid_fps"), size=v("vid_size"),
            untransform=v("vid_untransform"), error_map=v("vid_error_map"),
            compare=tuple(self.compare.paths), out=v("vid_out").strip(), crf=v("vid_crf"), overwrite=v("vid_overwrite"),
        )

    def _export(self, ctx: PanelContext) -> None:
        if self.job is not None:
            return
        settings = self.read_settings()
        try:  # settings mistakes are reported at once, not after loading generators in the job
            build_video_spec(settings, ctx.state.session_for_saving())
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        self.job = ctx.start_job("video", lambda progress, cancelled: export_video(ctx, settings, progress, cancelled),
                                 lambda result, error: self._done(ctx, result, error))
        dpg.configure_item("vid_export", enabled=False)
        dpg.configure_item("vid_cancel", enabled=True)
        ctx.set_status(f"rendering video to {settings.out} ...")

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _done(self, ctx: PanelContext, result, error: str | None) -> None:
        self.job = None
        dpg.configure_item("vid_export", enabled=True)
        dpg.configure_item("vid_cancel", enabled=False)
        if error is not None:
            ctx.set_status(error, error=True)
            return
        w, h = result.size
        dpg.set_value("vid_progress", 1.0)
        dpg.configure_item("vid_progress", overlay=f"{result.frames} frames, {result.fps:.1f} fps")
        ctx.set_status(f"wrote {result.path} ({result.frames} frames, {w}x{h})")

    def refresh(self, ctx: PanelContext) -> None:
        if self.job is not None:
            dpg.set_value("vid_progress", self.job.fraction)
            dpg.configure_item("vid_progress", overlay=self.job.text)

    def on_model_changed(self, ctx: PanelContext) -> None:
        # StyleGAN2 alone cannot rotate or translate: start it on a walk instead.
        if ctx.model is not None and not ctx.model.supports_input_transform:
            dpg.set_value("vid_rotate", False)
            dpg.set_value("vid_translate", False)
            dpg.set_value("vid_walk", True)

    def close(self) -> None:
        self._cancel()
