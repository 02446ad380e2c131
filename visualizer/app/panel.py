"""The panel protocol: how one section of the control window plugs into the app.

A panel is one class in one file under `visualizer/app/panels/`, listed in
`eqviz.app.panels.PANEL_CLASSES`. The app builds every panel once inside its own collapsing
header and then, once per UI frame, calls `refresh`. Panels never talk to the render worker or to
each other directly: callbacks write to `ctx.state` (the `Session` plus app-only state) and call
`ctx.request_render()`; slow work (a metric, a video) goes through `ctx.start_job`, whose
`on_done` runs back on the main thread (`eqviz.app.job_panel.JobPanel` does this for a panel with a
Run button, a Cancel button and a progress bar). Only the main thread ever calls `dpg.*`, so all of these
methods may use Dear PyGui freely.

Everything a panel makes with the loaded model belongs to that model (`eqviz.app.lifecycle` says how
jobs and per-model state follow a model switch and how the app shuts down).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from eqviz.app.model import ModelInfo
    from eqviz.app.render_worker import RenderResult
    from eqviz.app.state import AppState
    from eqviz.app.stats import FrameStats


@dataclass(eq=False)
class JobHandle:
    """One background job: its body reports with `report` and polls `cancelled`; the UI reads the
    counts each frame and asks it to stop with `cancel()`. It belongs to the model it was started
    with (`model`, `generation`: see eqviz.app.lifecycle)."""
    name: str
    model: str = ""            # label of the model the job was started with
    generation: int | None = None  # which load of a model that was (one per successful load); None:
                                   # the app's own job, bound to no model (a checkpoint download)
    done: int = 0              # units finished (samples, frames, images)
    total: int = 0             # units the job will do (0 = not known yet)
    text: str = ""             # the latest progress line
    finished: bool = False
    cancel_requested: bool = False
    kept_on_cancel: str = ""   # what a cancel still writes ("its best W"): closing waits longer for it

    def report(self, done: int, total: int, text: str = "") -> None:
        self.done, self.total, self.text = int(done), int(total), text

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total > 0 else 0.0

    def cancel(self) -> None:
        self.cancel_requested = True

    def cancelled(self) -> bool:
        """The callable every library job polls as its `cancel` argument."""
        return self.cancel_requested


@dataclass
class JobOutcome:
    """How a job ended, handed to its `on_done` on the main thread."""
    result: Any = None                 # what the body returned; for a cancelled job, its partial result (or None)
    error: str | None = None           # one sentence when the job failed
    cancelled_at: int | None = None    # units done when a cancel stopped it; None when it was not cancelled
    total: int = 0                     # units the job was to do
    stale: bool = False                # another model was opened since it started: show nothing of it
    model: str = ""                    # label of the model the job was started with


# A job's body runs on its own thread with its handle: `handle.report(...)`, `handle.cancelled()`.
JobBody = Callable[[JobHandle], Any]
JobDone = Callable[[JobOutcome], None]


class PanelContext(Protocol):
    """What the app offers every panel (implemented by `eqviz.app.app.App`)."""

    state: "AppState"                  # everything the UI edits; the next render reads it
    model: "ModelInfo | None"          # the loaded checkpoint (path, kind, sizes...) or None
    last_result: "RenderResult | None"  # the frame now on screen (image, ws, timings, error)
    loading: "str | None"              # path of a checkpoint being loaded, else None
    download: "JobHandle | None"       # a checkpoint being fetched (URL or published name) before it loads
    stats: "FrameStats"                # rolling frame rates and timings
    asleep: bool                       # the UI draws only on input or news (nothing changed lately)

    def request_render(self) -> None:
        """Render the current state again (cheap to call often: only the latest request counts)."""

    def set_status(self, text: str, error: bool = False) -> None:
        """Show one sentence in the status line (red when `error`)."""

    def open_checkpoint(self, path: str) -> None:
        """Load a checkpoint in the background; on failure the previous model stays."""

    def generator(self):
        """The loaded generator, shared with the render worker (None when nothing is loaded). Jobs
        only read it: every image passes its own input transform, so nothing needs a private copy."""

    def start_job(self, name: str, body: JobBody, on_done: JobDone) -> JobHandle:
        """Run `body(handle)` on a background thread; `on_done(JobOutcome)` runs on the main thread."""


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

    def on_key(self, ctx: PanelContext, key: int) -> bool:
        """A key pressed outside text fields: True when this panel took it (the app then does nothing more)."""
        return False

    def forget_model(self, ctx: PanelContext) -> None:
        """Called once after another checkpoint finished loading, before `on_model_changed`: drop
        everything made with the previous model (results, directions, textures, caches). Its jobs
        are already cancelled by the app (eqviz.app.lifecycle)."""

    def on_model_changed(self, ctx: PanelContext) -> None:
        """Called once after a checkpoint finished loading (ctx.model is the new one): adapt the
        controls to it."""

    def close(self) -> None:
        """Called when the app exits, before the app cancels and waits for every job: release anything
        that is not a job (jobs started with `ctx.start_job` are the app's to stop)."""
