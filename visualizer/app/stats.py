"""Rolling frame statistics for the performance panel (main thread only).

Frame rates count the frames of the last RATE_SECONDS only: after the window slept, a rate over the
last N frames would mix in frames shown long ago (it read 1.3 fps while frames came at 9.6 fps).
"""
from __future__ import annotations

from collections import deque

from eqviz.app.frame_renderer import RenderResult

WINDOW = 60  # frames averaged for the per-frame timings
RATE_SECONDS = 2.0  # frame rates count the frames shown in this many seconds before now
MAX_RATE_SAMPLES = 2000  # bounds the timestamp queues (1000 fps over the window)


def _mean(values) -> float:
    return sum(values) / len(values) if values else 0.0


class FrameStats:
    def __init__(self):
        self.ui_frame_times: deque[float] = deque(maxlen=MAX_RATE_SAMPLES)
        self.render_times: deque[float] = deque(maxlen=MAX_RATE_SAMPLES)  # displayed frames' timestamps
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
    def frame_rate(times: deque, now: float) -> float:
        """Frames per second over the timestamps of the last RATE_SECONDS before `now` (0 when fewer
        than two frames fall in it); older timestamps are dropped."""
        while times and times[0] < now - RATE_SECONDS:
            times.popleft()
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def summary(self, now: float) -> dict:
        """Rates as of `now` (time.perf_counter()) and the mean per-frame timings."""
        return {"ui_fps": self.frame_rate(self.ui_frame_times, now),
                "render_fps": self.frame_rate(self.render_times, now),
                "mapping_ms": _mean(self.mapping_ms), "synthesis_ms": _mean(self.synthesis_ms),
                "post_ms": _mean(self.post_ms), "display_ms": _mean(self.display_ms),
                "latency_ms": _mean(self.latency_ms)}
