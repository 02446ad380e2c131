"""One model lifecycle and one shutdown: the rules every panel plugs into.

**Model lifecycle.** A model lives from the moment its checkpoint finished loading until the next one
finished loading (a failed load changes nothing). Everything made with it belongs to it:

- *Jobs.* `ctx.start_job` stamps each job with the model it was started with (label and generation,
  one generation per successful load). When another model is opened the app cancels the old model's
  jobs through their handles -- the same `cancel()` as a Cancel button, so each keeps what it promises
  on cancel (the projector writes its best W, a video removes its partial file) -- and says so in the
  status line. A job that cannot stop early finishes; either way its `on_done` still runs on the main
  thread (so its panel re-enables its controls), with `outcome.stale` set: the panel shows nothing
  of it, so no result ever lands in a panel of another model. `JobPanel` does all of this for its subclasses.
  A job of the app's own that belongs to no model (fetching a checkpoint to open) is started with
  `JobRunner.start` and no generation: a switch leaves it alone; closing the window still stops it.
- *Per-model state held by panels* (results, directions, textures, caches): a panel drops it in
  `Panel.forget_model(ctx)`, called once after a new model loaded and before `Panel.on_model_changed`
  (which adapts the controls to the new model). For a `JobPanel`, `forget_model` calls `clear_result`,
  which is also called when a new run starts, so an old result never stays beside a new run.
- *Per-model state in the session*: a loaded W and direction edits live in one model's W space;
  `AppState.forget_model` drops them unless the session names the model just loaded (a loaded session
  file brings its own W and edits with its checkpoint).
- *Results name their model and run settings*: `JobPanel.start(..., about=...)` writes
  "<model>: <settings>" under the progress bar while the job runs and keeps it beside the result.

**Shutdown.** Closing the window, SIGTERM or SIGINT end the main loop the same way; `App.shutdown`
cancels every job through its handle, waits up to `SHUTDOWN_SECONDS` for their threads and the render
thread (up to `KEEP_SECONDS` for a job that still writes something when cancelled: a projection's best
W comes after a step that takes seconds on a loaded CPU), then destroys the Dear PyGui context, and
`eqviz gui` exits 0.

Why waiting matters: the abort at exit ("terminate called without an active exception", exit 134)
was not Dear PyGui's. Python 3.11 ends a daemon thread that asks for the GIL after the interpreter
began finalising with `pthread_exit`; the forced unwinding it starts runs through torch's C++ frames,
which are noexcept, so the C++ runtime calls `std::terminate`. A job thread returning from any torch
op during finalisation did exactly that. So the app never finalises with a job inside torch: it waits
for them, and should one still run after the wait (a single torch call longer than the wait), it
leaves through `os._exit` after flushing, without a finalisation for such a thread to trip over,
removing first the partial files of this process (a video whose encoder never finished) so that
nothing incomplete stays behind.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Callable

from eqviz.atomic_io import remove_own_partials

SHUTDOWN_SECONDS = 5.0  # how long closing waits for cancelled jobs and the render thread
KEEP_SECONDS = 30.0     # how long it waits for a job that still writes something when cancelled


def same_checkpoint(a: str | None, b: str | None) -> bool:
    """Whether two checkpoint paths name one file (in-memory models compare by label)."""
    if not a or not b:
        return False
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return a == b


def switch_message(loaded: str, cancelled: list, dropped: list[str]) -> str:
    """The status line after a model switch: what loaded, which jobs of the old model were stopped
    and what per-model state could not carry over."""
    parts = [loaded]
    if cancelled:
        names = ", ".join(sorted({h.name for h in cancelled}))
        parts.append(f"stopped {names} of {cancelled[0].model} (its result is discarded)")
    if dropped:
        parts.append(f"dropped {' and '.join(dropped)} of the previous model")
    return "; ".join(parts)


class CloseSignals:
    """SIGTERM and SIGINT close the window like its close button: the handler only raises a flag,
    and a small thread woken through `signal.set_wakeup_fd` ends the UI's wait for input at once (a
    sleeping UI is inside GLFW, where Python runs no handler until an event arrives)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, wake: Callable[[], None]):
        self.requested = False
        self._wake = wake
        self._previous: dict = {}
        self._reader = self._writer = None
        self._old_fd = -1

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread (in-process tests drive the app elsewhere)
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        threading.Thread(target=self._watch, name="eqviz-signal-wake", daemon=True).start()

    def _on_signal(self, _signum, _frame) -> None:
        self.requested = True

    def _watch(self) -> None:
        reader = self._reader
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            if any(byte in self.SIGNALS for byte in data):
                self.requested = True  # the handler itself runs only once the UI's wait has ended
                self._wake()

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if self._writer is not None:
            signal.set_wakeup_fd(self._old_fd)
            self._writer.close()
            self._reader.close()
            self._reader = self._writer = None


def leave_now_if_threads_remain(still_running: list[str], code: int) -> None:
    """After shutdown: with a job thread still inside torch, normal interpreter finalisation would
    abort (see the module docstring), so say which and leave at once with `code`. The job's own
    cleanup will never run, so its unfinished outputs (partial files of this process) go first."""
    if not still_running:
        return
    removed = remove_own_partials()
    unfinished = f"; removed its unfinished {', '.join(p.name for p in removed)}" if removed else ""
    print(f"eqviz: closed while {', '.join(still_running)} still ran; it was cancelled but did not stop in "
          f"time{unfinished}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
