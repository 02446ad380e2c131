"""Saving what the app shows: the frame at full resolution and a window screenshot (used by the
capture panel, the keyboard shortcuts and scripted runs)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg
import numpy as np

from eqviz.errors import EqvizError
from eqviz.app.frame_renderer import FrameRenderer, build_request
from eqviz.app.panel import PanelContext
from eqviz.atomic_io import save_png
from eqviz.core.images import unit_to_uint8


def default_image_path(ctx: PanelContext) -> Path:
    s = ctx.state.session
    shown = Path(s.w_path).stem if s.w_path else f"seed{s.seed:04d}"  # a loaded W names the image, not a seed
    return Path.cwd() / f"eqviz_{shown}_{time.strftime('%Y%m%d_%H%M%S')}.png"


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

    G, device = ctx.generator(), ctx.model.device

    def render_full(_handle):
        full = FrameRenderer(G, device).render(request)
        if full.error:
            raise EqvizError(full.error)
        return full.picture

    ctx.set_status("rendering the image at full resolution to save it...")
    ctx.start_job("save image", render_full,
                  lambda outcome: _write_picture(ctx, path, outcome.result) if outcome.error is None
                  else ctx.set_status(f"could not save image: {outcome.error}", error=True))


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
    return unit_to_uint8(rgba[..., :3])


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
