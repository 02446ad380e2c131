"""Texture-sticking panel: long-exposure average and central-column stack of the current checkpoint
(optionally beside others), rendered in the background by `eqviz.video.sticking.render_sticking` and
shown here when done."""
from __future__ import annotations

import dataclasses

import dearpygui.dearpygui as dpg
import numpy as np
from PIL import Image

from eqviz.app.compare_list import CompareList, current_generator
from eqviz.app.job_panel import JobPanel
from eqviz.app.panel import PanelContext
from eqviz.app.widgets import typed_path
from eqviz.core.images import rgba
from eqviz.core.rendering import synthesis_settings
from eqviz.errors import EqvizError
from eqviz.video.sticking import STACK_MOTIONS, StickingSpec, render_sticking

SHOWN_WIDTH = 380  # the panel's image width in screen pixels


@dataclasses.dataclass
class StickingSettings:
    samples: int = StickingSpec.samples      # the library's defaults, stated once there
    sigma: float = StickingSpec.sigma
    frames: int = StickingSpec.frames
    distance: float = StickingSpec.distance
    stack_motion: str = StickingSpec.stack_motion
    compare: tuple[str, ...] = ()
    outdir: str = "eqviz_sticking"
    overwrite: bool = False


def build_sticking_spec(settings: StickingSettings, session, device: str, current: tuple) -> StickingSpec:
    """The StickingSpec for the current seed and truncation and the panel's settings, on the app's device:
    `current` (name, generator) beside the comparison checkpoints."""
    return StickingSpec(
        checkpoints=[current, *settings.compare],
        seeds=[session.seed],
        outdir=settings.outdir,
        samples=settings.samples,
        sigma=settings.sigma,
        frames=settings.frames,
        distance=settings.distance,
        stack_motion=settings.stack_motion,
        device=device,
        overwrite=settings.overwrite,
        **synthesis_settings(session),
    )


def run_sticking(spec: StickingSpec, handle):
    """The job body (runs on the job's thread, which loads the comparison checkpoints)."""
    return render_sticking(spec, progress=lambda p: handle.report(p.done, p.total, str(p)), cancel=handle.cancelled)


def png_rgba(path) -> np.ndarray:
    """A PNG as the C-contiguous float32 RGBA array a raw texture wants."""
    return rgba(np.asarray(Image.open(path).convert("RGB")))


class StickingPanel(JobPanel):
    title = "Texture sticking"
    default_open = False
    job_name = "texture sticking"
    tag_prefix = "stick"

    def __init__(self):
        super().__init__()
        self.compare = CompareList("stick_compare")
        self._textures: list = []
        self._arrays: list = []  # dpg keeps pointers into these

    def build(self, ctx: PanelContext) -> None:
        d = StickingSettings()
        dpg.add_text("Long exposure: the average of images around the current seed (sharp details = stuck "
                     "to pixels). Column stack: the central column of a slow translation, frame by frame.",
                     wrap=0, color=(150, 150, 150))
        with dpg.group(horizontal=True):
            dpg.add_input_int(label="samples", tag="stick_samples", default_value=d.samples, min_value=2, min_clamped=True, width=100)
            dpg.add_input_float(label="sigma", tag="stick_sigma", default_value=d.sigma, min_value=0.001, min_clamped=True,
                                width=100, format="%.3f")
        with dpg.group(horizontal=True):
            dpg.add_input_int(label="frames", tag="stick_frames", default_value=d.frames, min_value=2, min_clamped=True, width=100)
            dpg.add_input_float(label="distance", tag="stick_distance", default_value=d.distance, width=100, format="%.3f")
        dpg.add_combo(STACK_MOTIONS, label="stack motion", tag="stick_motion", default_value=d.stack_motion, width=100)
        self.compare.build()
        self.build_folder_job_controls(ctx, "Folder for the sticking views", d.outdir, d.overwrite)
        dpg.add_group(tag="stick_images")

    def read_settings(self) -> StickingSettings:
        v = dpg.get_value
        return StickingSettings(
            samples=v("stick_samples"), sigma=v("stick_sigma"), frames=v("stick_frames"), distance=v("stick_distance"),
            stack_motion=v("stick_motion"), compare=tuple(self.compare.paths), outdir=typed_path("stick_outdir"),
            overwrite=v("stick_overwrite"),
        )

    def run(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        settings = self.read_settings()
        if not settings.outdir:
            ctx.set_status("choose an output folder for the sticking views", error=True)
            return
        try:
            spec = build_sticking_spec(settings, ctx.state.session, ctx.model.device, current_generator(ctx))
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        self.start(ctx, lambda handle: run_sticking(spec, handle),
                   f"rendering texture-sticking views of seed {ctx.state.session.seed} ...",
                   about=f"seed {ctx.state.session.seed}, {settings.samples} samples, sigma {settings.sigma:g}, "
                         f"{settings.frames} frames, {settings.stack_motion}")

    def clear_result(self, ctx: PanelContext) -> None:
        dpg.set_value("stick_result", "")
        self._show([])

    def show_result(self, ctx: PanelContext, result, complete: bool) -> None:
        lines = [f"column stacks: {result.stack_motion}"]
        for seed, per_model in result.sharpness.items():
            for name, hf in per_model.items():
                kept = hf["long_exposure"] / hf["single"] if hf["single"] > 0 else float("nan")
                lines.append(f"seed {seed} {name}: long exposure keeps {kept:.0%} of the high frequencies")
        dpg.set_value("stick_result", "\n".join(lines))
        self._show([p for p in result.files if p.suffix == ".png"])
        ctx.set_status(f"wrote texture-sticking views to {result.files[0].parent}")

    def _show(self, pngs) -> None:
        """Replace the shown images with these PNGs (textures are recreated: their size is fixed)."""
        dpg.delete_item("stick_images", children_only=True)
        for texture in self._textures:
            dpg.delete_item(texture)
        self._textures, self._arrays = [], []
        for path in pngs:
            array = png_rgba(path)
            h, w = array.shape[:2]
            texture = dpg.add_raw_texture(w, h, array, format=dpg.mvFormat_Float_rgba, parent="textures")
            scale = min(SHOWN_WIDTH / w, 3.0)
            dpg.add_image(texture, parent="stick_images", width=int(w * scale), height=int(h * scale))
            self._textures.append(texture)
            self._arrays.append(array)
