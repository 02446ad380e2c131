"""Performance panel: where a frame's time goes, frame rates, device, filter backend and memory."""
from __future__ import annotations

import time

import dearpygui.dearpygui as dpg
import psutil

from visualizer.app.panel import Panel, PanelContext

UPDATE_SECONDS = 0.5  # text refresh period; reading process memory every frame is wasted work


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
            dpg.add_text("", tag=tag, wrap=400)
        dpg.add_text("The frame size is fixed by the generator; rendering cost is not reduced by showing it "
                     "smaller, so there is no resolution-scale option. Latest-request-wins skips frames the "
                     "renderer cannot keep up with.", wrap=400, color=(150, 150, 150))

    def refresh(self, ctx: PanelContext) -> None:
        now = time.perf_counter()
        if now < self._next or not dpg.is_item_visible("perf_rates"):
            return
        self._next = now + UPDATE_SECONDS
        s = ctx.stats.summary()
        dpg.set_value("perf_rates", f"UI {s['ui_fps']:.0f} fps, rendered frames shown {s['render_fps']:.1f} fps")
        dpg.set_value("perf_split", f"mapping {s['mapping_ms']:.1f} ms, synthesis {s['synthesis_ms']:.1f} ms, "
                                    f"views + error map {s['post_ms']:.1f} ms, to screen {s['display_ms']:.1f} ms")
        dpg.set_value("perf_latency", f"request -> on screen {s['latency_ms']:.0f} ms "
                                      f"({ctx.stats.frames_shown} frames, {ctx.stats.errors} errors)")
        m = ctx.model
        dpg.set_value("perf_device", f"device {m.device}; {m.backend}" if m else "no model loaded")
        rss = self._process.memory_info().rss / 2**20
        dpg.set_value("perf_memory", f"process memory (RSS) {rss:.0f} MiB")
        dpg.set_value("perf_gpu", gpu_memory_text(m.device) if m else "")
