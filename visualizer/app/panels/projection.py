"""Projection panel: project an image file into the loaded generator's W or W+ in the background, with a
live preview (target | current projection), progress and cancel. The files land in a folder as `eqviz
project` writes them, and the projected W becomes the current latent (a final W: shown as it is).
A cancelled projection keeps the best W found so far."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import dearpygui.dearpygui as dpg
import numpy as np

from eqviz.app.job_panel import JobPanel
from eqviz.app.panel import PanelContext
from eqviz.app.widgets import file_dialog, path_row, typed_path
from eqviz.core.images import images_to_rgb8, rgba
from eqviz.errors import Cancelled
from eqviz.projection.outputs import W_FILE, check_outputs, psnr, save_projection
from eqviz.projection.projector import SPACES, ProjectionSettings, project
from eqviz.projection.setup import projection_inputs
from eqviz.projection.targets import load_target, target_tensor

IMAGE_EXTENSIONS = ("Images{.png,.jpg,.jpeg,.webp,.bmp}", ".png", ".jpg", ".jpeg", ".*")
# Choosing a file in this dialog starts the projection at once (other panels may show it by this tag).
PICK_AND_PROJECT_DIALOG = "proj_pick_and_project_dialog"
PREVIEW_EVERY = 5       # steps between two preview images
SHOWN_HEIGHT = 180      # the preview's height in screen pixels


@dataclasses.dataclass
class ProjectionPanelSettings:
    target: str = ""
    space: str = ProjectionSettings.space
    steps: int = ProjectionSettings.steps
    losses: str = ""            # '' = the default: pixel + discriminator when the snapshot has a D
    lpips_vgg: str = ""
    lpips_lin: str = ""
    outdir: str = "eqviz_projection"
    overwrite: bool = False


@dataclasses.dataclass
class ProjectionOutcome:
    w_path: Path        # projected_w.npz, now the current W
    folder: Path        # where the files went
    psnr_db: float      # of the projection against the target
    steps_done: int


def side_by_side(target_rgb8: np.ndarray, images) -> np.ndarray:
    """target | first image, as the RGBA float array a raw texture reads."""
    return rgba(np.concatenate([target_rgb8, images_to_rgb8(images[:1])[0].cpu().numpy()], axis=1))


def run_projection(ctx: PanelContext, settings: ProjectionPanelSettings, handle, on_preview) -> ProjectionOutcome:
    """The job body (the job's thread): project, write the files, return where the W went. Cancelled
    carries the outcome of the best W so far, written like a finished one."""
    warnings.filterwarnings("ignore", message=".*gradient is needed.*")  # the reference ops are the path here
    G, device = ctx.generator(), ctx.model.device
    target = target_tensor(load_target(settings.target, G.img_resolution, G.img_channels), device=device)
    inputs = projection_inputs(ctx.model.path, settings.losses.strip() or None, settings.lpips_vgg.strip() or None,
                               settings.lpips_lin.strip() or None, device=device)
    options = ProjectionSettings(space=settings.space, steps=settings.steps, losses=tuple(inputs.losses.items()),
                                 class_idx=ctx.state.session.class_idx if G.c_dim else None)
    target_rgb8 = images_to_rgb8(target)[0].cpu().numpy()
    names = [settings.target]

    def save(result) -> ProjectionOutcome:
        (folder,) = save_projection(settings.outdir, G, result, target, names, overwrite=settings.overwrite)
        return ProjectionOutcome(folder / W_FILE, folder, float(psnr(result.images, target)[0]), result.steps_done)

    check_outputs(settings.outdir, names, overwrite=settings.overwrite)
    try:
        result = project(G, target, options, D=inputs.D, lpips=inputs.lpips,
                         progress=lambda p: handle.report(p.done, p.total, str(p)), cancel=handle.cancelled,
                         preview=lambda step, images: on_preview(side_by_side(target_rgb8, images)),
                         preview_every=PREVIEW_EVERY)
    except Cancelled as exc:
        raise Cancelled(str(exc), done=exc.done, total=exc.total, partial=save(exc.partial)) from None
    return save(result)


def use_projected_w(ctx: PanelContext, outcome: ProjectionOutcome) -> None:
    """The projected W becomes the current latent (a W file is final: psi does not apply to it)."""
    ctx.state.session.w_path = str(outcome.w_path)
    ctx.state.touch()
    ctx.request_render()


class ProjectionPanel(JobPanel):
    title = "Project image"
    default_open = False
    job_name = "projection"
    kept_on_cancel = "its best W"
    tag_prefix = "proj"
    run_label = "Project image..."

    def __init__(self):
        super().__init__()
        self._preview: np.ndarray | None = None   # the newest preview, handed over by the job's thread
        self._shown: np.ndarray | None = None     # the array the texture reads (dpg keeps a pointer)
        self._texture = None
        self.header = None         # this panel's collapsing header
        self._reveal_frames = 0    # frames until the control column scrolls this panel into view

    def build(self, ctx: PanelContext) -> None:
        self.header = dpg.top_container_stack()
        d = ProjectionPanelSettings()
        file_dialog(PICK_AND_PROJECT_DIALOG, "Image to project", lambda p: self._pick_and_project(ctx, p),
                    IMAGE_EXTENSIONS)
        dpg.add_text("Finds the W whose image matches a photo (centre-cropped to a square). The result becomes "
                     "the current W: rotate, translate or export it like a seed.", wrap=0, color=(150, 150, 150))
        path_row("proj_target", "Image to project", IMAGE_EXTENSIONS, d.target, hint="image file")
        with dpg.group(horizontal=True):
            dpg.add_combo(list(SPACES), label="space", tag="proj_space", default_value=d.space, width=60)
            dpg.add_input_int(label="steps", tag="proj_steps", default_value=d.steps, min_value=1, min_clamped=True,
                              width=100, step=0)
        dpg.add_input_text(label="losses", tag="proj_losses", default_value=d.losses, width=260,
                           hint="default: pixel,discriminator")
        with dpg.tooltip("proj_losses"):  # the hint is short enough to fit the box
            dpg.add_text("Empty: the pixel and discriminator losses (pixel alone for a checkpoint without "
                         "a discriminator)")
        dpg.add_input_text(label="LPIPS VGG16", tag="proj_lpips_vgg", width=260, hint="vgg16-397923af.pth (lpips loss)")
        dpg.add_input_text(label="LPIPS heads", tag="proj_lpips_lin", width=260, hint="v0.1 vgg.pth (lpips loss)")
        self.build_folder_job_controls(ctx, "Folder for the projection", d.outdir, d.overwrite)
        dpg.add_group(tag="proj_preview")

    def read_settings(self) -> ProjectionPanelSettings:
        v = dpg.get_value
        return ProjectionPanelSettings(
            target=v("proj_target").strip(), space=v("proj_space"), steps=v("proj_steps"), losses=v("proj_losses"),
            lpips_vgg=v("proj_lpips_vgg"), lpips_lin=v("proj_lpips_lin"), outdir=typed_path("proj_outdir"),
            overwrite=v("proj_overwrite"),
        )

    def run(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        settings = self.read_settings()
        if not settings.target:
            dpg.show_item(PICK_AND_PROJECT_DIALOG)  # nothing chosen yet: pick the image, then project it
            return
        if not settings.outdir:
            ctx.set_status("choose an output folder for the projection", error=True)
            return
        self._preview = None
        self.start(ctx, lambda handle: run_projection(ctx, settings, handle, self._hand_over),
                   f"projecting {Path(settings.target).name} into {settings.space.upper()} ...",
                   about=f"{Path(settings.target).name} into {settings.space.upper()}, {settings.steps} steps, "
                         f"losses {settings.losses.strip() or 'default'}")

    def _pick_and_project(self, ctx: PanelContext, path: str) -> None:
        """From any panel's "Project image...": this panel opens and comes into view, so the run's
        progress, preview and Cancel are on screen."""
        dpg.set_value("proj_target", path)
        self.run(ctx)
        if self.job is not None and self.header is not None:
            dpg.set_value(self.header, True)
            self._reveal_frames = 2  # its place is known once it has been drawn open

    def _hand_over(self, preview: np.ndarray) -> None:
        self._preview = preview  # one reference swap: the main thread picks it up in refresh

    def clear_result(self, ctx: PanelContext) -> None:
        dpg.set_value("proj_result", "")
        dpg.delete_item("proj_preview", children_only=True)
        if self._texture is not None:
            dpg.delete_item(self._texture)
        self._texture = self._shown = self._preview = None

    def discarded(self, ctx: PanelContext, outcome) -> None:
        """Another model was opened: the W stays in its folder but does not become the current one, and
        a preview the job handed over after the switch goes too."""
        self.clear_result(ctx)
        where = f"; its best W is in {outcome.result.folder}" if isinstance(outcome.result, ProjectionOutcome) else ""
        ctx.set_status(f"projection on {outcome.model} stopped: another model was opened{where}")

    def refresh(self, ctx: PanelContext) -> None:
        super().refresh(ctx)
        if self._reveal_frames:
            self._reveal_frames -= 1
            if not self._reveal_frames:  # scroll the control column so that the progress bar shows
                top = dpg.get_item_rect_min(self.header)[1]
                dpg.set_y_scroll("controls", max(0.0, dpg.get_y_scroll("controls") + top - 40))
        preview, self._preview = self._preview, None
        if preview is None or self.job is None:
            return
        if self._shown is None or self._shown.shape != preview.shape:
            dpg.delete_item("proj_preview", children_only=True)
            if self._texture is not None:
                dpg.delete_item(self._texture)
            h, w = preview.shape[:2]
            self._texture = dpg.add_raw_texture(w, h, preview, format=dpg.mvFormat_Float_rgba, parent="textures")
            dpg.add_text("target  |  projection so far", parent="proj_preview", color=(150, 150, 150))
            scale = SHOWN_HEIGHT / h
            dpg.add_image(self._texture, parent="proj_preview", width=int(w * scale), height=SHOWN_HEIGHT)
        else:
            dpg.set_value(self._texture, preview)
        self._shown = preview

    def show_result(self, ctx: PanelContext, result: ProjectionOutcome, complete: bool) -> None:
        use_projected_w(ctx, result)
        how = "projected" if complete else f"best W of {result.steps_done} steps"
        dpg.set_value("proj_result", f"{how}: PSNR {result.psnr_db:.2f} dB; files in {result.folder}")
        ctx.set_status(f"the current W is now {result.w_path} ({how}, PSNR {result.psnr_db:.2f} dB)")
