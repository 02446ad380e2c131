"""Capture panel: save the frame at full resolution, a window screenshot, and whole sessions."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg
import numpy as np

from eqviz.errors import EqvizError
from eqviz.app.frame_renderer import FrameRenderer, build_request
from eqviz.app.panel import Panel, PanelContext
from eqviz.app.widgets import file_dialog
from eqviz.atomic_io import save_png
from eqviz.core.session import Session


def default_image_path(ctx: PanelContext) -> Path:
    s = ctx.state.session
    return Path.cwd() / f"eqviz_seed{s.seed:04d}_{time.strftime('%Y%m%d_%H%M%S')}.png"


def save_current_image(ctx: PanelContext, path: str | None = None) -> None:
    """The frame on screen at the generator's resolution (not the zoomed display), as PNG. A preview
    on screen (lower render resolution) is rendered again at full resolution in the background."""
    result = ctx.last_result
    if result is None or result.picture is None:
        ctx.set_status("nothing rendered yet: there is no image to save", error=True)
        return
    path = Path(path) if path else default_image_path(ctx)
    if result.display_scale == 1:
        _write_picture(ctx, path, result.picture)
        return
    request = build_request(ctx.state, stamp=0)
    request.view.preview_divisor = 1

    def render_full(_progress, _cancelled):
        full = FrameRenderer(ctx.clone_generator(), ctx.model.device).render(request)
        if full.error:
            raise EqvizError(full.error)
        return full.picture

    ctx.set_status("rendering the image at full resolution to save it...")
    ctx.start_job("save image", render_full,
                  lambda picture, error: _write_picture(ctx, path, picture) if error is None
                  else ctx.set_status(f"could not save image: {error}", error=True))


def _write_picture(ctx: PanelContext, path: Path, picture: np.ndarray) -> None:
    try:
        save_png(path, picture)
    except (EqvizError, OSError) as exc:
        ctx.set_status(f"could not save image: {exc}", error=True)
        return
    h, w = picture.shape[:2]
    ctx.set_status(f"saved {w}x{h} image to {path}")


def frame_buffer_to_uint8(buffer, width: int, height: int) -> np.ndarray:
    """dpg's frame buffer (float RGBA, row-major from the top) -> [H, W, 3] uint8."""
    rgba = np.asarray(buffer, dtype=np.float32).reshape(height, width, 4)
    return (np.clip(rgba[..., :3], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_screenshot(ctx: PanelContext, path: str, on_saved: Callable[[bool], None] | None = None) -> None:
    """Grab the whole window (dpg hands the buffer over a frame later) and write it atomically."""
    def grabbed(_sender, buffer, _user) -> None:
        ok = True
        try:
            save_png(path, frame_buffer_to_uint8(buffer, buffer.get_width(), buffer.get_height()))
            ctx.set_status(f"saved window screenshot to {path}")
        except (EqvizError, OSError, ValueError) as exc:
            ctx.set_status(f"could not save screenshot: {exc}", error=True)
            ok = False
        if on_saved is not None:
            on_saved(ok)

    dpg.output_frame_buffer(callback=grabbed)


class CapturePanel(Panel):
    title = "Capture and session"
    default_open = False

    def build(self, ctx: PanelContext) -> None:
        file_dialog("save_image_dialog", "Save image", lambda p: save_current_image(ctx, p), (".png",),
                    default_filename="eqviz.png")
        file_dialog("save_screenshot_dialog", "Save window screenshot", lambda p: save_screenshot(ctx, p), (".png",),
                    default_filename="eqviz_window.png")
        file_dialog("save_session_dialog", "Save session", lambda p: self._save_session(ctx, p), (".json",),
                    default_filename="session.json")
        file_dialog("load_session_dialog", "Load session", lambda p: self._load_session(ctx, p), (".json", ".*"))
        with dpg.group(horizontal=True):
            dpg.add_button(label="Save image (Ctrl+S)", callback=lambda *_: save_current_image(ctx))
            dpg.add_button(label="Save image as...", callback=lambda *_: dpg.show_item("save_image_dialog"))
        dpg.add_button(label="Save window screenshot...", callback=lambda *_: dpg.show_item("save_screenshot_dialog"))
        with dpg.group(horizontal=True):
            dpg.add_button(label="Save session...", callback=lambda *_: dpg.show_item("save_session_dialog"))
            dpg.add_button(label="Load session...", callback=lambda *_: dpg.show_item("load_session_dialog"))
        dpg.add_text("A session file holds the checkpoint, latent, transform and view; "
                     "`eqviz render --session` and `eqviz video --session` read the same file.",
                     wrap=400, color=(150, 150, 150))

    def _save_session(self, ctx: PanelContext, path: str) -> None:
        try:
            ctx.state.session_for_saving().save(path)
        except (EqvizError, OSError) as exc:
            ctx.set_status(f"could not save session: {exc}", error=True)
            return
        ctx.set_status(f"saved session to {path}")

    def _load_session(self, ctx: PanelContext, path: str) -> None:
        try:
            session = Session.load(path)
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        ctx.state.adopt_session(session)
        ctx.request_render()
        loaded = ctx.model.path if ctx.model else None
        if session.checkpoint and (loaded is None or Path(session.checkpoint).resolve() != Path(loaded).resolve()):
            ctx.open_checkpoint(session.checkpoint)
        else:
            ctx.set_status(f"loaded session {path}")
