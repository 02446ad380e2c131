"""View panel: output or an intermediate layer (channels, normalisation), FFT, live error, zoom."""
from __future__ import annotations

import dearpygui.dearpygui as dpg

from eqviz.app.panel import Panel, PanelContext
from eqviz.app.state import CHANNEL_MODES, DRAG_SPEEDS, NORMALISATIONS
from eqviz.app.widgets import grey_when_disabled, set_if_changed


class ViewPanel(Panel):
    title = "View"
    default_open = False

    def __init__(self):
        self._revision = -1
        self._stats_from = None  # the result whose layer statistics the table shows
        self._live_note = ""      # why the live error map is not offered for this model ("" when it is)

    def build(self, ctx: PanelContext) -> None:
        v = ctx.state.view
        dpg.add_combo(["output"], label="layer", tag="view_layer", default_value=v.layer, width=220,
                      callback=lambda _s, value, _u: self._edit(ctx, layer=value))
        with dpg.group(horizontal=True):
            dpg.add_radio_button(CHANNEL_MODES, tag="view_channel_mode", default_value=v.channel_mode, horizontal=True,
                                 callback=lambda _s, value, _u: self._edit(ctx, channel_mode=value))
            dpg.add_input_int(label="first channel", tag="view_channel", default_value=v.channel, width=100,
                              min_value=0, min_clamped=True, callback=lambda _s, value, _u: self._edit(ctx, channel=value))
        dpg.add_combo(NORMALISATIONS, label="layer normalisation", tag="view_norm", default_value=v.normalisation,
                      width=120, callback=lambda _s, value, _u: self._edit(ctx, normalisation=value))
        dpg.add_slider_float(label="brightness (dB)", tag="view_brightness", default_value=v.brightness_db,
                             min_value=-40.0, max_value=40.0, width=150, format="%.1f",
                             callback=lambda _s, value, _u: self._edit(ctx, brightness_db=value))
        with dpg.table(tag="view_stats", header_row=True, show=False, width=330, borders_innerH=True):
            for label in ("channels", "mean", "std", "max |x|"):
                dpg.add_table_column(label=label)
            for row, name in enumerate(("all", "shown")):
                with dpg.table_row():
                    dpg.add_text(name)
                    for col in range(3):
                        dpg.add_text("", tag=f"view_stat_{row}_{col}")
        dpg.add_checkbox(label="power spectrum (FFT) of what is shown", tag="view_fft", default_value=v.fft,
                         callback=lambda _s, value, _u: self._edit(ctx, fft=value))
        with dpg.group(horizontal=True):
            dpg.add_slider_float(label="range dB", tag="view_fft_range", default_value=v.fft_range_db, min_value=1.0,
                                 max_value=100.0, width=110, format="%.0f",
                                 callback=lambda _s, value, _u: self._edit(ctx, fft_range_db=value))
            dpg.add_slider_float(label="Kaiser beta", tag="view_fft_beta", default_value=v.fft_beta, min_value=0.0,
                                 max_value=20.0, width=100, format="%.1f",
                                 callback=lambda _s, value, _u: self._edit(ctx, fft_beta=value))
        dpg.add_checkbox(label="live equivariance error map beside the image", tag="view_live_error",
                         default_value=v.live_error, callback=lambda _s, value, _u: self._edit(ctx, live_error=value))
        dpg.add_text("", tag="view_live_note", wrap=0, color=(150, 150, 150))
        dpg.add_separator()
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="fit to window", tag="view_fit", default_value=v.fit,
                             callback=lambda _s, value, _u: self._set_view(ctx, fit=value))
            dpg.add_checkbox(label="pixel-exact (whole-number zoom)", tag="view_pixel_exact",
                             default_value=v.pixel_exact,
                             callback=lambda _s, value, _u: self._set_view(ctx, pixel_exact=value))
        with dpg.group(horizontal=True):
            for label, zoom in (("1:1", 1.0), ("2x", 2.0), ("4x", 4.0)):
                dpg.add_button(label=label, callback=lambda *_a, z=zoom: self._set_view(ctx, zoom=z, fit=False))
            dpg.add_slider_float(label="zoom", tag="view_zoom", default_value=v.zoom, min_value=0.125,
                                 max_value=16.0, width=150, format="%.2fx",
                                 callback=lambda _s, value, _u: self._set_view(ctx, zoom=value, fit=False))
        dpg.add_combo(list(DRAG_SPEEDS), label="drag speed (Shift / Ctrl + drag)", tag="view_drag_speed",
                      default_value=v.drag_speed, width=90,
                      callback=lambda _s, value, _u: self._set_view(ctx, drag_speed=value))
        grey_when_disabled("view_live_error", "view_channel_mode", "view_channel", "view_norm", "view_brightness",
                           "view_fft_range", "view_fft_beta")

    def _edit(self, ctx: PanelContext, **changes) -> None:
        """A change of what is rendered: a new frame is needed."""
        self._set_view(ctx, **changes)
        ctx.request_render()

    def _set_view(self, ctx: PanelContext, **changes) -> None:
        for name, value in changes.items():
            setattr(ctx.state.view, name, value)
        ctx.state.touch()

    def on_model_changed(self, ctx: PanelContext) -> None:
        m = ctx.model
        dpg.configure_item("view_layer", items=["output", *m.layer_names])
        supported = m.supports_input_transform
        dpg.configure_item("view_live_error", enabled=supported)
        if not supported:
            ctx.state.view.live_error = False
        self._live_note = "" if supported else "live error needs a StyleGAN3 input transform"
        dpg.set_value("view_live_note", self._live_note)
        self._revision = -1

    def _show_stats(self, result) -> None:
        """The layer's mean / std / max table, once per new frame (hidden for the output)."""
        if result is self._stats_from:
            return
        self._stats_from = result
        stats = result.layer_stats if result is not None else None
        dpg.configure_item("view_stats", show=stats is not None)
        for i, value in enumerate(stats or ()):
            dpg.set_value(f"view_stat_{i // 3}_{i % 3}", f"{value:.4g}")

    def refresh(self, ctx: PanelContext) -> None:
        self._show_stats(ctx.last_result)
        state = ctx.state
        if state.revision == self._revision:
            return
        self._revision = state.revision
        v = state.view
        set_if_changed("view_layer", v.layer)
        set_if_changed("view_channel_mode", v.channel_mode)
        set_if_changed("view_channel", v.channel)
        set_if_changed("view_norm", v.normalisation)
        set_if_changed("view_fft", v.fft)
        set_if_changed("view_brightness", v.brightness_db)
        set_if_changed("view_fft_range", v.fft_range_db)
        set_if_changed("view_fft_beta", v.fft_beta)
        layer = v.layer != "output"
        for tag in ("view_channel_mode", "view_channel", "view_norm", "view_brightness"):
            dpg.configure_item(tag, enabled=layer)
        for tag in ("view_fft_range", "view_fft_beta"):
            dpg.configure_item(tag, enabled=v.fft)
        set_if_changed("view_live_error", v.live_error)
        set_if_changed("view_live_note", "the live error map is drawn for the output, not for a layer"
                       if layer and v.live_error else self._live_note)
        set_if_changed("view_fit", v.fit)
        set_if_changed("view_pixel_exact", v.pixel_exact)
        if not v.fit:  # while fitting, the viewer shows the fitted zoom here
            set_if_changed("view_zoom", v.zoom)
        set_if_changed("view_drag_speed", v.drag_speed)
