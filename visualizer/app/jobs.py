"""Background jobs for panels (metrics, videos): a thread each, results handed back on the main thread."""
from __future__ import annotations

import queue
import threading

from eqviz.errors import EqvizError
from eqviz.app.panel import JobBody, JobDone, JobHandle


class JobCancelled(EqvizError):
    """Raised by a job body that noticed `cancelled()`; reported as "cancelled", not as a failure."""


class JobRunner:
    def __init__(self, on_finish=None):
        self._done: queue.Queue = queue.Queue()
        self._on_finish = on_finish  # called on the job's thread when it ends (wakes the UI)
        self.active: list[JobHandle] = []

    def start(self, name: str, body: JobBody, on_done: JobDone) -> JobHandle:
        handle = JobHandle(name=name)

        def progress(fraction: float, text: str = "") -> None:
            handle.fraction, handle.text = float(fraction), text

        def run() -> None:
            try:
                result, error = body(progress, lambda: handle.cancel_requested), None
            except JobCancelled:
                result, error = None, f"{name} cancelled"
            except EqvizError as exc:
                result, error = None, str(exc)
            except Exception as exc:  # noqa: BLE001 -- shown as the status line instead of a dead thread
                result, error = None, f"{name} failed: {type(exc).__name__}: {exc}"
            self._done.put((handle, on_done, result, error))
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
                handle, on_done, result, error = self._done.get_nowait()
            except queue.Empty:
                return delivered
            delivered = True
            handle.finished = True
            self.active.remove(handle)
            on_done(result, error)

    def cancel_all(self) -> None:
        for handle in self.active:
            handle.cancel()
