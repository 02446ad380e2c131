"""Video export panel: a rotation / translation / latent-walk video of the current view, optionally
side by side with other checkpoints, rendered in the background by `eqviz.video.render.render_video`."""
from __future__ import annotations

import dataclasses

import dearpygui.dearpygui as dpg

from eqviz.errors import EqvizError
from eqviz.app.compare_list import CompareList, current_generator
from eqviz.app.job_panel import JobPanel
from eqviz.app.panel import PanelContext
from eqviz.app.widgets import add_field_error, path_row, show_field_error, typed_path
from eqviz.core.seeds import parse_seeds
from eqviz.video.motions import TRANSLATE_PATHS, WALK_SPACES, Motion
from eqviz.video.render import VideoSpec, check_spec, render_video


@dataclasses.dataclass
class VideoExportSettings:
    rotate: bool = True
    translate: bool = False
    walk: bool = False
    turns: float = Motion.turns    # the library's defaults, stated once there
    radius: float = Motion.radius
    path: str = Motion.path
    walk_space: str = Motion.walk_space
    walk_seeds: str = ""           # keyframes after the current latent, e.g. "1-3"
    frames: int = 120              # 4 s at the library's 30 fps
    fps: float = VideoSpec.fps
    size: int = 0                  # 0 = the generator's resolution
    untransform: bool = False
    error_map: bool = False
    compare: tuple[str, ...] = ()  # extra checkpoints, side by side after the current one
    out: str = "eqviz_video.mp4"
    crf: int = VideoSpec.crf
    overwrite: bool = False


def walk_seeds_problem(settings: VideoExportSettings) -> str | None:
    """Why the walk seeds cannot make a walk (None when they can, or when no walk is asked for)."""
    if not settings.walk:
        return None
    if not settings.walk_seeds:
        return "a walk needs walk seeds to loop through after the current latent, e.g. 1-3."
    try:
        parse_seeds(settings.walk_seeds)
    except EqvizError as exc:
        return str(exc)
    return None


def build_video_spec(settings: VideoExportSettings, session, device: str, current: tuple):
    """The VideoSpec for the current view (the session: its latent, truncation and pose) and the panel's
    settings, rendered on the app's device: `current` (name, generator) beside the comparison checkpoints."""
    kinds = tuple(k for k, on in (("walk", settings.walk), ("rotate", settings.rotate), ("translate", settings.translate)) if on)
    if not kinds:
        raise EqvizError("choose a motion: rotate, translate or walk.")
    problem = walk_seeds_problem(settings)
    if problem:
        raise EqvizError(problem)
    seeds = parse_seeds(settings.walk_seeds) if settings.walk else None
    motion = Motion(kinds=kinds, turns=settings.turns, radius=settings.radius, path=settings.path, walk_space=settings.walk_space)
    return VideoSpec(
        checkpoints=[current, *settings.compare],
        out=settings.out,
        motion=motion,
        seeds=seeds,
        frames=settings.frames,
        fps=settings.fps,
        size=settings.size or None,
        session=session,
        untransform=settings.untransform,
        error_map=settings.error_map,
        crf=settings.crf,
        device=device,
        overwrite=settings.overwrite,
    )


def export_video(spec, handle) -> object:
    """The job body (runs on the job's thread, which loads the comparison checkpoints)."""
    return render_video(spec, progress=lambda p: handle.report(p.done, p.total, str(p)), cancel=handle.cancelled)


def show_video_result(ctx: PanelContext, progress_tag: str, result) -> None:
    """A finished video (a VideoResult) in its panel's progress bar and the status line."""
    w, h = result.size
    dpg.configure_item(progress_tag, overlay=f"done: {result.frames} frames, rendered at {result.render_fps:.1f} fps")
    ctx.set_status(f"wrote {result.path}: {w}x{h}, {result.frames} frames at {result.file_fps:g} fps = "
                   f"{result.duration:.2f} s (rendered at {result.render_fps:.1f} fps)")


class VideoExportPanel(JobPanel):
    title = "Video export"
    default_open = False
    job_name = "video export"
    tag_prefix = "vid"
    run_suffix = "export"
    run_label = "Export"

    def __init__(self):
        super().__init__()
        self.compare = CompareList("vid_compare")

    def build(self, ctx: PanelContext) -> None:
        d = VideoExportSettings()
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="rotate", tag="vid_rotate", default_value=d.rotate)
            dpg.add_checkbox(label="translate", tag="vid_translate", default_value=d.translate)
            dpg.add_checkbox(label="walk", tag="vid_walk", default_value=d.walk)
        dpg.add_input_float(label="turns", tag="vid_turns", default_value=d.turns, width=120, format="%.2f")
        with dpg.group(horizontal=True):
            dpg.add_input_float(label="radius", tag="vid_radius", default_value=d.radius, width=120, format="%.3f")
            dpg.add_combo(TRANSLATE_PATHS, tag="vid_path", default_value=d.path, width=80)
        with dpg.group(horizontal=True):
            dpg.add_input_text(label="walk seeds", tag="vid_walk_seeds", default_value=d.walk_seeds, hint="e.g. 1-3", width=120)
            dpg.add_combo(WALK_SPACES, tag="vid_walk_space", default_value=d.walk_space, width=50)
        add_field_error("vid_walk_seeds")
        dpg.add_text("The video starts from the current view (latent, truncation, pose); a walk loops through "
                     "the walk seeds and back.", wrap=0, color=(150, 150, 150))
        with dpg.group(horizontal=True):
            dpg.add_input_int(label="frames", tag="vid_frames", default_value=d.frames, min_value=1, min_clamped=True, width=100)
            dpg.add_input_float(label="fps", tag="vid_fps", default_value=d.fps, min_value=1, min_clamped=True, width=100, format="%.1f")
        dpg.add_input_int(label="size (0 = native)", tag="vid_size", default_value=d.size, min_value=0, min_clamped=True, width=100)
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="untransformed", tag="vid_untransform", default_value=d.untransform)
            dpg.add_checkbox(label="error map", tag="vid_error_map", default_value=d.error_map)
        self.compare.build()
        path_row("vid_out", "Export video to", (".mp4", ".gif", ".*"), d.out, default_filename="eqviz_video.mp4")
        with dpg.group(horizontal=True):
            dpg.add_input_int(label="crf", tag="vid_crf", default_value=d.crf, min_value=0, max_value=51,
                              min_clamped=True, max_clamped=True, width=100)
            dpg.add_checkbox(label="overwrite", tag="vid_overwrite", default_value=d.overwrite)
        self.build_job_controls(ctx)

    def read_settings(self) -> VideoExportSettings:
        v = dpg.get_value
        return VideoExportSettings(
            rotate=v("vid_rotate"), translate=v("vid_translate"), walk=v("vid_walk"),
            turns=v("vid_turns"), radius=v("vid_radius"), path=v("vid_path"),
            walk_space=v("vid_walk_space"), walk_seeds=v("vid_walk_seeds").strip(),
            frames=v("vid_frames"), fps=v("vid_fps"), size=v("vid_size"),
            untransform=v("vid_untransform"), error_map=v("vid_error_map"),
            compare=tuple(self.compare.paths), out=typed_path("vid_out"), crf=v("vid_crf"), overwrite=v("vid_overwrite"),
        )

    def run(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        settings = self.read_settings()
        show_field_error("vid_walk_seeds", walk_seeds_problem(settings))
        try:  # settings mistakes are reported at once, not after loading generators in the job
            spec = build_video_spec(settings, ctx.state.session_for_saving(), ctx.model.device, current_generator(ctx))
            check_spec(spec)
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        motion = "+".join(spec.motion.kinds)
        self.start(ctx, lambda handle: export_video(spec, handle), f"rendering video to {settings.out} ...",
                   about=f"{motion}, {settings.frames} frames at {settings.fps:g} fps to {settings.out}")

    def show_result(self, ctx: PanelContext, result, complete: bool) -> None:
        show_video_result(ctx, "vid_progress", result)

    def on_model_changed(self, ctx: PanelContext) -> None:
        # StyleGAN2 alone cannot rotate or translate: start it on a walk instead.
        if ctx.model is not None and not ctx.model.supports_input_transform:
            dpg.set_value("vid_rotate", False)
            dpg.set_value("vid_translate", False)
            dpg.set_value("vid_walk", True)
