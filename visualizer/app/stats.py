"""Rolling frame statistics for the performance panel (main thread only)."""
from __future__ import annotations

from collections import deque

from eqviz.app.frame_renderer import RenderResult

WINDOW = 60  # frames averaged


def _mean(values) -> float:
    return sum(values) / len(values) if values else 0.0


class FrameStats:
    def __init__(self):
        self.ui_frame_times: deque[float] = deque(maxlen=WINDOW + 1)
        self.render_times: deque[float] = deque(maxlen=WINDOW)   # displayed frames' timestamps
        self.mapping_ms: deque[float] = deque(maxlen=WINDOW)
        self.synthesis_ms: deque[float] = deque(maxlen=WINDOW)
        self.post_ms: deque[float] = deque(maxlen=WINDOW)
        self.display_ms: deque[float] = deque(maxlen=WINDOW)     # worker done -> on screen
        self.latency_ms: deque[float] = deque(maxlen=WINDOW)     # request -> on screen
        self.frames_shown = 0
        self.errors = 0

    def add_ui_frame(self, now: float) -> None:
        self.ui_frame_times.append(now)

    def add_frame(self, result: RenderResult, displayed_at: float) -> None:
        self.frames_shown += 1
        self.render_times.append(displayed_at)
        t = result.timings_ms
        self.mapping_ms.append(t.get("mapping", 0.0))
        self.synthesis_ms.append(t.get("synthesis", 0.0))
        self.post_ms.append(t.get("post", 0.0))
        self.display_ms.append(1e3 * (displayed_at - result.finished_at))
        self.latency_ms.append(1e3 * (displayed_at - result.submitted_at))

    def add_error(self) -> None:
        self.errors += 1

    @staticmethod
    def _rate(times: deque) -> float:
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    @property
    def ui_fps(self) -> float:
        return self._rate(self.ui_frame_times)

    @property
    def render_fps(self) -> float:
        return self._rate(self.render_times)

    def summary(self) -> dict:
        return {"ui_fps": self.ui_fps, "render_fps": self.render_fps,
                "mapping_ms": _mean(self.mapping_ms), "synthesis_ms": _mean(self.synthesis_ms),
                "post_ms": _mean(self.post_ms), "display_ms": _mean(self.display_ms),
                "latency_ms": _mean(self.latency_ms)}
