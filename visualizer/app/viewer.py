"""The image side of the window: status line, info line, the frame (and live error map), zoom, pan, drag.

Textures are raw float32 RGBA arrays that Dear PyGui references without copying; a new frame
swaps the array with one `set_value`, and only a change of size recreates the texture. By default
the frame fits the image area and refits whenever the area, the frame size or the live error map
changes; a fixed zoom (1:1, 2x, the wheel) turns fitting off. Dragging on the image moves through
the seed grid (left button), translates (Shift) or rotates (Ctrl) at the chosen drag speed; the
middle or right button pans; the wheel zooms.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg
import numpy as np

from eqviz.app.frame_renderer import RenderResult
from eqviz.app.state import DRAG_SPEEDS, AppState
from eqviz.core.colormaps import ERROR_LEGEND_CAPTION, error_legend
from eqviz.core.latents import mixed_layers
from eqviz.core.images import rgba

if TYPE_CHECKING:
    from eqviz.app.app import App

SEED_DRAG_PIXELS = 200.0   # screen pixels of drag per seed step
ROTATE_DRAG_DEGREES = 180.0  # degrees per drag across the whole shown frame (at normal drag speed)
ZOOM_LIMITS = (0.125, 32.0)
# Above this the live PSNR is float32 rounding of an identical frame (203.5 dB at the identity
# transform), not a measurement: the line says "exact".
EXACT_PSNR_DB = 150.0
LEGEND_SIZE = (256, 34)
ERROR_COLUMN_EXTRA = 100   # pixels the error column adds above and below its map (PSNR line, legend, caption)
GAP = 8                    # pixels between and around the image columns


def effective_zoom(zoom: float, pixel_exact: bool) -> float:
    """Whole-number zoom (or 1/n when shrinking) keeps every image pixel the same size on screen."""
    zoom = min(max(zoom, ZOOM_LIMITS[0]), ZOOM_LIMITS[1])
    if not pixel_exact:
        return zoom
    return float(max(1, round(zoom))) if zoom >= 1 else 1.0 / max(1, round(1.0 / zoom))


def fit_zoom_for(area: tuple[float, float], frame: tuple[int, int], live_error: bool, pixel_exact: bool) -> float:
    """The largest zoom that shows a `frame` (w, h) whole in an `area` (w, h) of screen pixels, beside
    the live error map (same size, with its PSNR line and legend) when that is on; pixel-exact rounds
    down to a whole number or 1/n so that it still fits."""
    w, h = frame
    if not w or not h:
        return 1.0
    columns = 2 if live_error else 1
    extra_h = ERROR_COLUMN_EXTRA if live_error else GAP
    fit = min((area[0] - GAP * (columns + 1)) / (w * columns), (area[1] - extra_h) / h)
    fit = min(max(fit, ZOOM_LIMITS[0]), ZOOM_LIMITS[1])
    if pixel_exact:
        return float(math.floor(fit)) if fit >= 1 else 1.0 / math.ceil(1.0 / fit)
    return fit


def psnr_text(psnr_db: float) -> str:
    if math.isinf(psnr_db) or psnr_db >= EXACT_PSNR_DB:
        return "live error: exact (the frame maps back onto the untransformed one)"
    return f"live error, PSNR {psnr_db:.1f} dB"


def seed_text(state: AppState) -> str:
    """The seed as the user thinks of it: 205, or 206.98 between two seeds of a row, or the grid
    position when it lies between rows."""
    s = state.session
    if s.w_path is not None:
        return "W from file"
    whole_y = s.latent_y == math.floor(s.latent_y)
    if whole_y and s.latent_x == math.floor(s.latent_x):
        text = f"seed {s.seed}"
    elif whole_y:
        text = f"seed {s.latent_x + 100 * s.latent_y:.2f}"
    else:
        text = f"seed grid ({s.latent_x:.2f}, {s.latent_y:.2f})"
    if s.seed_b is not None:
        space = "lerp W" if s.interp_space == "w" else "slerp Z"
        text += f" <-> {s.seed_b} at t {s.interp_t:.2f} ({space})"
    return text


def index_ranges(indices) -> str:
    """[4, 5, 6, 9, 11, 12] -> '4-6, 9, 11-12'."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs) or "none"


def info_line(state: AppState, zoom: float, transformable: bool, display_scale: int = 1,
              layer_shape: tuple[int, ...] | None = None, num_ws: int = 0, has_noise: bool = True) -> str:
    """What the frame on screen is, in one line: only what is set (and what the model has: noise
    only where it has noise inputs, the styles mixed within its ws)."""
    s, v = state.session, state.view
    parts = [seed_text(state)]
    if s.class_idx is not None:
        parts.append(f"class {s.class_idx}")
    if s.w_path is None:
        parts.append(f"psi {s.psi:.2f}" + (f", cutoff {s.cutoff}" if s.cutoff is not None else ""))
    if s.mix_seed is not None:
        layers = mixed_layers(s, num_ws or max(s.mix_range[1], 1))
        parts.append(f"styles {index_ranges(layers)} from seed {s.mix_seed}")
    if s.edits:
        named = [f"{edit.label or 'direction'} {edit.alpha:+.2f}" for edit in s.edits]
        parts.append(f"edits: {', '.join(named[:3])}" + (f" and {len(named) - 3} more" if len(named) > 3 else ""))
    if has_noise and s.noise_mode != "const":
        parts.append(f"noise {s.noise_mode}" + (f", seed {s.noise_seed}" if s.noise_mode == "random" else ""))
    if transformable:
        parts.append(f"translate ({s.translate[0]:+.3f}, {s.translate[1]:+.3f}), rotate {s.rotate_deg:+.1f} deg")
    parts.append(f"zoom {zoom * 100:.0f}%" + (" (fit)" if v.fit else ""))
    if display_scale > 1:
        parts.append(f"preview at 1/{display_scale} resolution")
    if layer_shape:
        parts.append(f"layer {v.layer} {list(layer_shape)}")
    return "   ".join(parts)


class _Texture:
    """One raw texture plus the image item that shows it; recreated when the size changes."""

    def __init__(self, name: str, parent: str, before: str | None = None):
        self.name, self.parent, self.before = name, parent, before
        self.array: np.ndarray | None = None
        self.texture = None
        self.item = None

    def set(self, array: np.ndarray) -> None:
        if self.array is None or self.array.shape != array.shape:
            self._recreate(array)
        else:
            dpg.set_value(self.texture, array)
        self.array = array  # dpg holds a pointer into it: keep it alive

    def resize(self, zoom: float) -> None:
        if self.item is not None:
            w, h = self.size
            dpg.configure_item(self.item, width=max(1, round(w * zoom)), height=max(1, round(h * zoom)), show=True)

    def hide(self) -> None:
        if self.item is not None:
            dpg.configure_item(self.item, show=False)

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
        self.error = _Texture("error_image", parent="error_group", before="error_legend_row")
        self.legend = _Texture("error_legend", parent="error_legend_row", before="error_legend_caption")
        self._drag = None   # (mode, start values) while a drag that began on the image lasts
        self._shown_zoom = None
        self._refresh_key = None
        self._display_scale = 1  # >1 while a preview (lower-resolution image) is on screen
        self._layer_shape = None
        self._error_shown = False  # the live error map is beside the frame (not for a layer view)

    def build(self, x: int) -> None:
        with dpg.window(tag="viewer", no_title_bar=True, no_move=True, no_resize=True, no_close=True,
                        no_background=True, pos=(x, 0), no_scrollbar=True):  # see app.WINDOW_BACKGROUND
            with dpg.group(horizontal=True):
                dpg.add_button(label="Help (F1)", callback=lambda *_: dpg.show_item("help_window"))
                dpg.add_text("", tag="status_line", wrap=0)
            self.app.status_area.build()
            dpg.add_text("", tag="viewer_info", color=(150, 150, 150), wrap=0)
            with dpg.child_window(tag="image_area", horizontal_scrollbar=True, border=False):
                with dpg.group(horizontal=True, tag="image_row"):
                    with dpg.group(tag="error_group", show=False):
                        dpg.add_text("", tag="error_psnr")
                        with dpg.group(tag="error_legend_row"):
                            dpg.add_text(ERROR_LEGEND_CAPTION, tag="error_legend_caption", color=(150, 150, 150))
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
    def zoom(self) -> float:
        """Display pixels per image pixel now: the fit, or the chosen zoom."""
        view = self.app.state.view
        if view.fit:
            return self.fit_zoom()
        return effective_zoom(view.zoom, view.pixel_exact)

    def show(self, result: RenderResult) -> None:
        self._display_scale = result.display_scale  # a preview fills the full frame's place
        self._layer_shape = result.layer_shape
        self.main.set(result.image)
        if result.error_map is not None:
            self.error.set(result.error_map)
            if self.legend.array is None:
                self.legend.set(rgba(error_legend(*LEGEND_SIZE)))
                self.legend.resize(1.0)
            dpg.set_value("error_psnr", psnr_text(result.error_psnr_db))
            dpg.show_item("error_group")
        else:
            dpg.hide_item("error_group")
        self._error_shown = result.error_map is not None
        self._shown_zoom = None
        self._refresh_key = None

    def clear(self) -> None:
        """Take the frame off screen (a new model: its first frame, or its error, replaces it)."""
        self.main.hide()
        dpg.hide_item("error_group")
        self._layer_shape = None
        self._refresh_key = None

    def refresh(self) -> None:
        """Once per UI frame; does work only when the state, the area or the frame changed."""
        area = tuple(dpg.get_item_rect_size("image_area"))
        key = (self.app.state.revision, area, self.frame_size, self._layer_shape, self._error_shown)
        if key == self._refresh_key:
            return
        self._refresh_key = key
        zoom = self.zoom()
        if zoom != self._shown_zoom and self.main.array is not None:
            self.main.resize(zoom * self._display_scale)
            if self.error.array is not None:
                self.error.resize(zoom)
            self._shown_zoom = zoom
        if self.app.state.view.fit and dpg.does_item_exist("view_zoom"):
            dpg.set_value("view_zoom", zoom)  # the slider reads the fitted zoom, not the last one chosen
        model = self.app.model
        dpg.set_value("viewer_info", info_line(self.app.state, zoom, bool(model and model.supports_input_transform),
                                               self._display_scale, self._layer_shape,
                                               num_ws=model.num_ws if model else 0,
                                               has_noise=bool(model and model.kind == "stylegan2")))

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) in image pixels of the full frame on screen (a preview stands for it)."""
        w, h = self.main.size
        return w * self._display_scale, h * self._display_scale

    def fit_zoom(self, size: tuple[int, int] | None = None) -> float:
        """The zoom that shows the whole frame (of `size`, default the shown one) in the image area."""
        view = self.app.state.view
        return fit_zoom_for(tuple(dpg.get_item_rect_size("image_area")), size or self.frame_size,
                            self._error_shown, view.pixel_exact)

    # -- mouse ------------------------------------------------------------------------------------
    def _on_press(self, _sender, _data, mode) -> None:
        if self._drag is not None:
            return
        s = self.app.state.session
        if mode == "left":
            if self.main.item is None or not dpg.is_item_hovered(self.main.item):
                return
            if dpg.is_key_down(dpg.mvKey_ModShift):
                mode, start = "translate", tuple(s.translate)
            elif dpg.is_key_down(dpg.mvKey_ModCtrl):
                mode, start = "rotate", (s.rotate_deg,)
            else:
                mode, start = "seed", (s.latent_x, s.latent_y)
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
        speed = DRAG_SPEEDS[state.view.drag_speed]
        shown = max(self.frame_size[0] * self.zoom(), 1.0)
        transformable = bool(self.app.model and self.app.model.supports_input_transform)
        if mode == "seed":
            state.session.latent_x = start[0] + dx / SEED_DRAG_PIXELS
            state.session.latent_y = start[1] + dy / SEED_DRAG_PIXELS
            state.touch()
        elif mode == "translate" and transformable:
            state.set_translate(start[0] + speed * dx / shown, start[1] + speed * dy / shown)
        elif mode == "rotate" and transformable:
            state.set_rotate(start[0] - speed * ROTATE_DRAG_DEGREES * dx / shown)
        elif mode == "pan":
            dpg.set_x_scroll("image_area", max(0.0, start[0] - dx))
            dpg.set_y_scroll("image_area", max(0.0, start[1] - dy))
            return
        else:
            return
        self.app.request_render()

    def _on_release(self, *_args) -> None:
        self._drag = None

    def _on_wheel(self, _sender, delta, _user) -> None:
        if not dpg.is_item_hovered("image_area") and not (self.main.item and dpg.is_item_hovered(self.main.item)):
            return
        view = self.app.state.view
        factor = 2.0 if view.pixel_exact else 1.25
        zoom = self.zoom()
        view.fit = False
        view.zoom = min(max(zoom * factor if delta > 0 else zoom / factor, ZOOM_LIMITS[0]), ZOOM_LIMITS[1])
        self.app.state.touch()
