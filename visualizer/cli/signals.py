"""Signals while a command runs: SIGTERM cleans up like an exception, and Ctrl+C can ask a long job
to stop in order (through the job's `cancel` callable, the library's one cancellation mechanism)."""
import contextlib
import signal
import threading


class Terminated(BaseException):
    """SIGTERM as an exception, so `finally` blocks and context managers remove partial outputs
    (a BaseException, so no `except Exception` in the library swallows it)."""


class Interrupted(Exception):
    """Ctrl+C stopped a job that kept its work; the message says what was kept (exit status 130)."""


def raise_terminated(signum, frame) -> None:
    raise Terminated()


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()  # only it may set signal handlers


@contextlib.contextmanager
def sigterm_raises():
    """While a command runs, SIGTERM raises Terminated (its default action would exit without
    cleaning up)."""
    if not in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def ctrl_c_cancels():
    """Yields a `cancel` callable that turns True at the first Ctrl+C, so the job stops between two
    steps and hands back what it has; a second Ctrl+C interrupts at once (KeyboardInterrupt)."""
    requested = threading.Event()
    if not in_main_thread():
        yield requested.is_set
        return

    def on_sigint(signum, frame):
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
