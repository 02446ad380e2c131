"""The image side of the window: status line, the frame (and live error map), zoom, pan and drag.

Textures are raw float32 RGBA arrays that Dear PyGui references without copying; a new frame
swaps the array with one `set_value`, and only a change of size recreates the texture. Dragging
on the image moves through the seed grid (left button) or the input translation (Shift + left);
the middle or right button pans; the wheel zooms.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg
import numpy as np

from eqviz.app.frame_renderer import RenderResult

if TYPE_CHECKING:
    from eqviz.app.app import App

SEED_DRAG_PIXELS = 200.0   # screen pixels of drag per seed step
ZOOM_LIMITS = (0.125, 32.0)


def effective_zoom(zoom: float, pixel_exact: bool) -> float:
    """Whole-number zoom (or 1/n when shrinking) keeps every image pixel the same size on screen."""
    zoom = min(max(zoom, ZOOM_LIMITS[0]), ZOOM_LIMITS[1])
    if not pixel_exact:
        return zoom
    return float(max(1, round(zoom))) if zoom >= 1 else 1.0 / max(1, round(1.0 / zoom))


class _Texture:
    """One raw texture plus the image item that shows it; recreated when the size changes."""

    def __init__(self, name: str, parent: str, before: str | None = None):
        self.name, self.parent, self.before = name, parent, before
        self.array: np.ndarray | None = None
        self.texture = None
        self.item = None

    def set(self, array: np.ndarray, width: int, height: int) -> None:
        if self.array is None or self.array.shape != array.shape:
            self._recreate(array)
        else:
            dpg.set_value(self.texture, array)
        self.array = array  # dpg holds a pointer into it: keep it alive
        dpg.configure_item(self.item, width=width, height=height)

    def _recreate(self, array: np.ndarray) -> None:
        if self.item is not None:
            dpg.delete_item(self.item)
            dpg.delete_item(self.texture)
        h, w = array.shape[:2]
        self.texture = dpg.add_raw_texture(w, h, array, format=dpg.mvFormat_Float_rgba, parent="textures")
        kwargs = {"before": self.before} if self.before else {}
        self.item = dpg.add_image(self.texture, parent=self.parent, tag=self.name, **kwargs)

    @property
    def size(self) -> tuple[int, int]:
        return (0, 0) if self.array is None else (self.array.shape[1], self.array.shape[0])


class Viewer:
    def __init__(self, app: "App"):
        self.app = app
        self.main = _Texture("main_image", parent="image_row", before="error_group")
        self.error = _Texture("error_image", parent="error_group")
        self._drag = None   # (mode, start values) while a drag that began on the image lasts
        self._shown_zoom = None
        self._display_scale = 1  # >1 while a preview (lower-resolution image) is on screen

    def build(self, x: int) -> None:
        dpg.add_texture_registry(tag="textures")
        with dpg.window(tag="viewer", no_title_bar=True, no_move=True, no_resize=True, no_close=True,
                        no_background=True, pos=(x, 0), no_scrollbar=True):  # see app.WINDOW_BACKGROUND
            with dpg.group(horizontal=True):
                dpg.add_button(label="Help (F1)", callback=lambda *_: dpg.show_item("help_window"))
                dpg.add_text("", tag="status_line", wrap=0)
            dpg.add_text("", tag="viewer_info", color=(150, 150, 150))
            with dpg.child_window(tag="image_area", horizontal_scrollbar=True, border=False):
                with dpg.group(horizontal=True, tag="image_row"):
                    with dpg.group(tag="error_group", show=False):
                        dpg.add_text("", tag="error_psnr")
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Left, callback=self._on_press, user_data="left")
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Middle, callback=self._on_press, user_data="pan")
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Right, callback=self._on_press, user_data="pan")
            dpg.add_mouse_drag_handler(button=-1, threshold=1.0, callback=self._on_drag)
            dpg.add_mouse_release_handler(callback=self._on_release)
            dpg.add_mouse_wheel_handler(callback=self._on_wheel)

    def layout(self, x: int, width: int, height: int) -> None:
        dpg.configure_item("viewer", pos=(x, 0), width=max(width, 100), height=height)
        dpg.configure_item("image_area", width=-1, height=-1)

    # -- frames -----------------------------------------------------------------------------------
    def _zoom(self) -> float:
        return effective_zoom(self.app.state.view.zoom, self.app.state.view.pixel_exact)

    def show(self, result: RenderResult) -> None:
        zoom = self._zoom()
        h, w = result.image.shape[:2]
        self._display_scale = result.display_scale  # a preview fills the full frame's place
        self.main.set(result.image, round(w * zoom * self._display_scale), round(h * zoom * self._display_scale))
        if result.error_map is not None:
            eh, ew = result.error_map.shape[:2]
            self.error.set(result.error_map, round(ew * zoom), round(eh * zoom))
            psnr = "inf" if math.isinf(result.error_psnr_db) else f"{result.error_psnr_db:.1f}"
            dpg.set_value("error_psnr", f"live error, PSNR {psnr} dB (log scale 1e-6..1)")
            dpg.show_item("error_group")
        else:
            dpg.hide_item("error_group")
        self._shown_zoom = zoom

    def refresh(self) -> None:
        zoom = self._zoom()
        if zoom != self._shown_zoom and self.main.array is not None:
            w, h = self.main.size
            scale = zoom * self._display_scale
            dpg.configure_item(self.main.item, width=round(w * scale), height=round(h * scale))
            if self.error.array is not None:
                ew, eh = self.error.size
                dpg.configure_item(self.error.item, width=round(ew * zoom), height=round(eh * zoom))
            self._shown_zoom = zoom
        s = self.app.state.session
        info = (f"seed {s.latent_x:.2f}, {s.latent_y:.2f}   psi {s.psi:.2f}   translate ({s.translate[0]:+.3f}, "
                f"{s.translate[1]:+.3f})   rotate {s.rotate_deg:+.1f} deg   zoom {zoom:g}x")
        if self._display_scale > 1:
            info += f"   preview at 1/{self._display_scale} resolution"
        if self.app.last_result is not None and self.app.last_result.layer_shape:
            info += f"   layer {self.app.state.view.layer} {list(self.app.last_result.layer_shape)}"
        dpg.set_value("viewer_info", info)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) in image pixels of the full frame on screen (a preview stands for it)."""
        w, h = self.main.size
        return w * self._display_scale, h * self._display_scale

    def fit_zoom(self, size: tuple[int, int] | None = None) -> float:
        """The largest zoom that shows the whole frame (of `size`, default the shown one) in the image
        area, next to the live error map when that is on."""
        w, h = size or self.frame_size
        if not w:
            return 1.0
        aw, ah = dpg.get_item_rect_size("image_area")
        columns = 2 if self.app.state.view.live_error else 1
        fit = max(ZOOM_LIMITS[0], min((aw - 16 * columns) / (w * columns), (ah - 40) / h))
        if self.app.state.view.pixel_exact:  # round down, so it still fits
            return float(math.floor(fit)) if fit >= 1 else 1.0 / math.ceil(1.0 / fit)
        return fit

    # -- mouse ------------------------------------------------------------------------------------
    def _on_press(self, _sender, _data, mode) -> None:
        if self._drag is not None:
            return
        if mode == "left":
            if self.main.item is None or not dpg.is_item_hovered(self.main.item):
                return
            s = self.app.state.session
            shift = dpg.is_key_down(dpg.mvKey_ModShift)
            mode = "translate" if shift else "seed"
            start = tuple(s.translate) if shift else (s.latent_x, s.latent_y)
        else:
            if not dpg.is_item_hovered("image_area"):
                return
            start = (dpg.get_x_scroll("image_area"), dpg.get_y_scroll("image_area"))
        self._drag = (mode, start)

    def _on_drag(self, _sender, data, _user) -> None:
        if self._drag is None:
            return
        mode, start = self._drag
        dx, dy = float(data[1]), float(data[2])
        state = self.app.state
        if mode == "seed":
            state.session.latent_x = start[0] + dx / SEED_DRAG_PIXELS
            state.session.latent_y = start[1] + dy / SEED_DRAG_PIXELS
            state.touch()
        elif mode == "translate":
            if not (self.app.model and self.app.model.supports_input_transform):
                return
            shown = self.frame_size[0] * self._zoom()
            state.set_translate(start[0] + dx / shown, start[1] + dy / shown)
        else:
            dpg.set_x_scroll("image_area", max(0.0, start[0] - dx))
            dpg.set_y_scroll("image_area", max(0.0, start[1] - dy))
            return
        self.app.request_render()

    def _on_release(self, *_args) -> None:
        self._drag = None

    def _on_wheel(self, _sender, delta, _user) -> None:
        if not dpg.is_item_hovered("image_area") and not (self.main.item and dpg.is_item_hovered(self.main.item)):
            return
        view = self.app.state.view
        factor = 2.0 if view.pixel_exact else 1.25
        zoom = effective_zoom(view.zoom, view.pixel_exact)
        view.zoom = min(max(zoom * factor if delta > 0 else zoom / factor, ZOOM_LIMITS[0]), ZOOM_LIMITS[1])
        self.app.state.touch()
