"""Background jobs for panels (metrics, videos): a thread each, outcomes handed back on the main thread.

Each job belongs to the model it was started with (eqviz.app.lifecycle): `cancel_others` stops the
jobs of a model that was replaced, `deliver` marks their outcomes stale, and `stop_all` cancels every
job and waits for its thread when the app closes.
"""
from __future__ import annotations

import queue
import sys
import threading
import time

from eqviz.app.argument_labels import argument_message
from eqviz.errors import Cancelled, EqvizError, InvalidArgument
from eqviz.app.panel import JobBody, JobDone, JobHandle, JobOutcome


def run_body(name: str, body: JobBody, handle: JobHandle) -> JobOutcome:
    """Runs a job body and says how it ended: a result, a partial result after `Cancelled` (not an
    error), or one error sentence."""
    try:
        outcome = JobOutcome(result=body(handle))
    except Cancelled as exc:
        outcome = JobOutcome(result=exc.partial, cancelled_at=exc.done, total=exc.total)
    except InvalidArgument as exc:  # named as the app's control for it, not as the API spells it
        outcome = JobOutcome(error=argument_message(exc))
    except EqvizError as exc:
        outcome = JobOutcome(error=str(exc))
    except Exception as exc:  # noqa: BLE001 -- shown as the status line instead of a dead thread
        outcome = JobOutcome(error=f"{name} failed: {type(exc).__name__}: {exc}")
    if not outcome.total:
        outcome.total = handle.total
    outcome.model = handle.model
    return outcome


class JobRunner:
    def __init__(self, on_finish=None):
        self._done: queue.Queue = queue.Queue()
        self._on_finish = on_finish  # called on the job's thread when it ends (wakes the UI)
        self.active: list[JobHandle] = []
        self._threads: dict[int, threading.Thread] = {}  # id(handle) -> its thread, until delivered

    def start(self, name: str, body: JobBody, on_done: JobDone, model: str = "",
              generation: int | None = None) -> JobHandle:
        """Run `body(handle)` on a thread of its own; `generation` binds it to a model (None: to none)."""
        handle = JobHandle(name=name, model=model, generation=generation)

        def run() -> None:
            self._done.put((handle, on_done, run_body(name, body, handle)))
            if self._on_finish is not None:
                self._on_finish()

        thread = threading.Thread(target=run, name=f"eqviz-job-{name}", daemon=True)
        self.active.append(handle)
        self._threads[id(handle)] = thread
        thread.start()
        return handle

    def deliver(self, generation: int = 0) -> bool:
        """Main thread, once per frame: call `on_done` of every finished job; True if there was one.
        A job started with another model than `generation` arrives stale (its panel shows nothing of it)."""
        delivered = False
        while True:
            try:
                handle, on_done, outcome = self._done.get_nowait()
            except queue.Empty:
                return delivered
            delivered = True
            handle.finished = True
            self.active.remove(handle)
            self._threads.pop(id(handle), None)
            outcome.stale = handle.generation not in (None, generation)
            on_done(outcome)

    def cancel_others(self, generation: int) -> list[JobHandle]:
        """Cancel every running job started with another model than `generation`; returns them."""
        stale = [h for h in self.active if h.generation not in (None, generation) and not h.finished]
        for handle in stale:
            handle.cancel()
        return stale

    def stop_all(self, timeout: float, keep_timeout: float = 0.0) -> list[str]:
        """Cancel every job and wait up to `timeout` seconds for their threads (each finishes what it
        promises on cancel: files written, partial files removed), and up to `keep_timeout` for a job
        that still writes something when cancelled (a projection's best W, after a step that may take
        seconds on a CPU). Returns the names still running."""
        for handle in self.active:
            handle.cancel()
        start = time.monotonic()
        for handle in list(self.active):
            thread = self._threads.get(id(handle))
            if thread is None:
                continue
            wait = max(timeout, keep_timeout) if handle.kept_on_cancel else timeout
            if handle.kept_on_cancel and thread.is_alive():
                print(f"eqviz: closing: waiting up to {wait:g} s for {handle.name} to write {handle.kept_on_cancel}",
                      file=sys.stderr, flush=True)
            thread.join(max(0.0, start + wait - time.monotonic()))
        return [t.name.removeprefix("eqviz-job-") for t in self._threads.values() if t.is_alive()]
