"""The panel protocol: how one section of the control window plugs into the app.

A panel is one class in one file under `visualizer/app/panels/`, listed in
`eqviz.app.panels.PANEL_CLASSES`. The app builds every panel once inside its own collapsing
header and then, once per UI frame, calls `refresh`. Panels never talk to the render worker or to
each other directly: callbacks write to `ctx.state` (the `Session` plus app-only state) and call
`ctx.request_render()`; slow work (a metric, a video) goes through `ctx.start_job`, whose
`on_done` runs back on the main thread. Only the main thread ever calls `dpg.*`, so all of these
methods may use Dear PyGui freely.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from eqviz.app.model import ModelInfo
    from eqviz.app.render_worker import RenderResult
    from eqviz.app.state import AppState
    from eqviz.app.stats import FrameStats


# A job's body runs on its own thread: `progress(fraction, text)` reports, `cancelled()` is polled.
JobBody = Callable[[Callable[[float, str], None], Callable[[], bool]], Any]
# Called on the main thread with (result, None) on success or (None, error sentence) on failure.
JobDone = Callable[[Any, "str | None"], None]


@dataclass
class JobHandle:
    """What `start_job` returns: read progress each frame, ask it to stop with `cancel()`."""
    name: str
    fraction: float = 0.0
    text: str = ""
    finished: bool = False
    cancel_requested: bool = False

    def cancel(self) -> None:
        self.cancel_requested = True


class PanelContext(Protocol):
    """What the app offers every panel (implemented by `eqviz.app.app.App`)."""

    state: "AppState"                  # everything the UI edits; the next render reads it
    model: "ModelInfo | None"          # the loaded checkpoint (path, kind, sizes...) or None
    last_result: "RenderResult | None"  # the frame now on screen (image, ws, timings, error)
    loading: "str | None"              # path of a checkpoint being loaded, else None
    stats: "FrameStats"                # rolling frame rates and timings
    asleep: bool                       # the UI draws only on input or news (nothing changed lately)

    def request_render(self) -> None:
        """Render the current state again (cheap to call often: only the latest request counts)."""

    def set_status(self, text: str, error: bool = False) -> None:
        """Show one sentence in the status line (red when `error`)."""

    def open_checkpoint(self, path: str) -> None:
        """Load a checkpoint in the background; on failure the previous model stays."""

    def fit_zoom(self) -> float:
        """The zoom that shows the whole frame in the image area."""

    def clone_generator(self):
        """A private deep copy of the loaded generator for a job (never the one the worker renders
        with: jobs change its input transform). None when nothing is loaded. Call it from the job
        body, not from the UI thread: copying a large model takes a moment."""

    def start_job(self, name: str, body: JobBody, on_done: JobDone) -> JobHandle:
        """Run `body(progress, cancelled)` on a background thread; `on_done` runs on the main thread."""


class Panel:
    """Base class of every panel. Subclasses set `title` and implement `build`."""

    title: str = ""           # the collapsing-header label in the control window
    default_open: bool = False  # whether the header starts expanded

    def build(self, ctx: PanelContext) -> None:
        """Create this panel's items once, inside the current dpg container."""
        raise NotImplementedError

    def refresh(self, ctx: PanelContext) -> None:
        """Called every UI frame: mirror state changed elsewhere (keys, animation, a loaded session,
        a new model) into the widgets. Keep it cheap; only `set_value` what actually changed."""

    def on_model_changed(self, ctx: PanelContext) -> None:
        """Called once after a checkpoint finished loading (ctx.model is the new one)."""

    def close(self) -> None:
        """Called when the app exits: cancel your jobs."""
