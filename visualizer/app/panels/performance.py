"""Performance panel: where a frame's time goes, frame rates, device, filter backend and memory."""
from __future__ import annotations

import time

import dearpygui.dearpygui as dpg
import psutil

from eqviz.app.panel import Panel, PanelContext
from eqviz.app.state import FPS_LIMITS, PREVIEW_DIVISORS
from eqviz.app.widgets import grey_when_disabled
from eqviz.app.stats import RATE_SECONDS

UPDATE_SECONDS = 0.5  # text refresh period; reading process memory every frame is wasted work
FULL = "full"


def divisor_label(divisor: int) -> str:
    return FULL if divisor == 1 else f"1/{divisor}"


def preview_choices(model) -> list[str]:
    """Labels of the resolutions this model can render at: full, plus the previews it supports."""
    return [divisor_label(d) for d in PREVIEW_DIVISORS
            if d == 1 or (model is not None and model.resolution // d in model.preview_resolutions)]


def preview_note(model) -> str:
    if model is None or model.preview_resolutions:
        return ("Lower resolutions stop StyleGAN2 after an earlier block and show its image so far "
                "(the skip architecture sums every block's RGB), enlarged to the full size: about 2x "
                "faster per halving. Captures and metrics always use the full resolution.")
    if model.kind == "stylegan2":
        return "This StyleGAN2 checkpoint is not a 'skip' generator: it forms its image only in the last block."
    return ("StyleGAN3 layers have fixed sizes and form the image only at the end, so there is no cheaper "
            "lower resolution; the newest request always wins, so slow frames are skipped, not queued.")


def gpu_memory_text(device: str) -> str:
    if not device.startswith("cuda"):
        return ""
    import torch  # only for its allocator counters; the worker thread does the rendering
    alloc = torch.cuda.memory_allocated(device) / 2**20
    peak = torch.cuda.max_memory_allocated(device) / 2**20
    return f"GPU memory {alloc:.0f} MiB allocated, peak {peak:.0f} MiB"


class PerformancePanel(Panel):
    title = "Performance"
    default_open = False

    def __init__(self):
        self._next = 0.0
        self._process = psutil.Process()

    def build(self, ctx: PanelContext) -> None:
        for tag in ("perf_rates", "perf_split", "perf_latency", "perf_device", "perf_memory", "perf_gpu"):
            dpg.add_text("", tag=tag, wrap=0)
        dpg.add_combo([FULL], label="render resolution", tag="perf_preview", default_value=FULL, width=100,
                      callback=lambda _s, value, _u: self._set_preview(ctx, value))
        dpg.add_text(preview_note(None), tag="perf_preview_note", wrap=0, color=(150, 150, 150))
        grey_when_disabled("perf_preview")
        with dpg.group(horizontal=True):
            dpg.add_combo([str(f) for f in FPS_LIMITS], label="UI fps limit", tag="perf_fps_limit", width=60,
                          default_value=str(ctx.state.view.fps_limit),
                          callback=lambda _s, value, _u: self._set_fps_limit(ctx, int(value)))
            dpg.add_checkbox(label="vsync", tag="perf_vsync", default_value=ctx.state.view.vsync,
                             callback=lambda _s, value, _u: self._set_vsync(ctx, value))
        dpg.add_text("The UI draws at most this often while anything moves, and not at all when nothing "
                     "does; vsync also waits for the display's refresh.", wrap=0, color=(150, 150, 150))

    def _set_fps_limit(self, ctx: PanelContext, fps: int) -> None:
        ctx.state.view.fps_limit = fps
        ctx.state.touch()

    def _set_vsync(self, ctx: PanelContext, on: bool) -> None:
        ctx.state.view.vsync = on
        dpg.set_viewport_vsync(on)
        ctx.state.touch()

    def _set_preview(self, ctx: PanelContext, label: str) -> None:
        ctx.state.view.preview_divisor = next(d for d in PREVIEW_DIVISORS if divisor_label(d) == label)
        ctx.state.touch()
        ctx.request_render()

    def on_model_changed(self, ctx: PanelContext) -> None:
        choices = preview_choices(ctx.model)
        current = divisor_label(ctx.state.view.preview_divisor)
        if current not in choices:
            ctx.state.view.preview_divisor, current = 1, FULL
        dpg.configure_item("perf_preview", items=choices, enabled=len(choices) > 1)
        dpg.set_value("perf_preview", current)
        dpg.set_value("perf_preview_note", preview_note(ctx.model))

    def refresh(self, ctx: PanelContext) -> None:
        now = time.perf_counter()
        if now < self._next or not dpg.is_item_visible("perf_rates"):
            return
        self._next = now + UPDATE_SECONDS
        s = ctx.stats.summary(now)
        ui = "UI asleep until input or a new frame" if ctx.asleep else f"UI {s['ui_fps']:.0f} fps"
        shown = (f"rendered frames shown {s['render_fps']:.1f} fps" if s["render_fps"] > 0
                 else f"no rendered frame shown in the last {RATE_SECONDS:g} s")
        dpg.set_value("perf_rates", f"{ui}, {shown}")
        dpg.set_value("perf_split", f"mapping {s['mapping_ms']:.1f} ms, synthesis {s['synthesis_ms']:.1f} ms, "
                                    f"views + error map {s['post_ms']:.1f} ms, to screen {s['display_ms']:.1f} ms")
        dpg.set_value("perf_latency", f"request -> on screen {s['latency_ms']:.0f} ms "
                                      f"({ctx.stats.frames_shown} frames, {ctx.stats.errors} errors)")
        m = ctx.model
        dpg.set_value("perf_device", f"device {m.device}; {m.backend}" if m else "no model loaded")
        rss = self._process.memory_info().rss / 2**20
        dpg.set_value("perf_memory", f"process memory (RSS) {rss:.0f} MiB")
        gpu = gpu_memory_text(m.device) if m else ""
        dpg.set_value("perf_gpu", gpu)
        dpg.configure_item("perf_gpu", show=bool(gpu))  # no empty line on the CPU
