"""Background jobs for panels (metrics, videos): a thread each, outcomes handed back on the main thread."""
from __future__ import annotations

import queue
import threading

from eqviz.errors import Cancelled, EqvizError
from eqviz.app.panel import JobBody, JobDone, JobHandle, JobOutcome


def run_body(name: str, body: JobBody, handle: JobHandle) -> JobOutcome:
    """Runs a job body and says how it ended: a result, a partial result after `Cancelled` (not an
    error), or one error sentence."""
    try:
        outcome = JobOutcome(result=body(handle))
    except Cancelled as exc:
        outcome = JobOutcome(result=exc.partial, cancelled_at=exc.done, total=exc.total)
    except EqvizError as exc:
        outcome = JobOutcome(error=str(exc))
    except Exception as exc:  # noqa: BLE001 -- shown as the status line instead of a dead thread
        outcome = JobOutcome(error=f"{name} failed: {type(exc).__name__}: {exc}")
    if not outcome.total:
        outcome.total = handle.total
    return outcome


class JobRunner:
    def __init__(self, on_finish=None):
        self._done: queue.Queue = queue.Queue()
        self._on_finish = on_finish  # called on the job's thread when it ends (wakes the UI)
        self.active: list[JobHandle] = []

    def start(self, name: str, body: JobBody, on_done: JobDone) -> JobHandle:
        handle = JobHandle(name=name)

        def run() -> None:
            self._done.put((handle, on_done, run_body(name, body, handle)))
            if self._on_finish is not None:
                self._on_finish()

        self.active.append(handle)
        threading.Thread(target=run, name=f"eqviz-job-{name}", daemon=True).start()
        return handle

    def deliver(self) -> bool:
        """Main thread, once per frame: call `on_done` of every finished job; True if there was one."""
        delivered = False
        while True:
            try:
                handle, on_done, outcome = self._done.get_nowait()
            except queue.Empty:
                return delivered
            delivered = True
            handle.finished = True
            self.active.remove(handle)
            on_done(outcome)

    def cancel_all(self) -> None:
        for handle in self.active:
            handle.cancel()
