"""Lets the UI loop sleep while nothing on screen changes, and wakes it from any thread.

Under a software rasterizer (Xvfb + Mesa llvmpipe) an unchanged UI frame still costs ~12 ms of CPU,
and on 2 cores every such frame preempts one of torch's two threads, which stalls both at their next
barrier: redrawing an idle window at 24 fps slowed a 4.6 s full-capacity synthesis to 6 s. With Dear
PyGui's `wait_for_input`, a frame first waits for an input event; GLFW's `glfwPostEmptyEvent`, which
Dear PyGui's Linux binary exports, is the thread-safe way to end that wait when a render or a job
finishes, or when a timer runs out. Where the symbol is missing (Dear PyGui's Windows and macOS
backends are not GLFW), `available` is False and the loop keeps drawing every frame.
"""
from __future__ import annotations

import ctypes
import threading
import time

import dearpygui._dearpygui as dpg_core


def _find_post_empty_event():
    try:
        post = ctypes.CDLL(dpg_core.__file__).glfwPostEmptyEvent
    except (OSError, AttributeError):
        return None
    post.restype, post.argtypes = None, []
    return post


class UiWake:
    """`wake()` ends the UI's wait for input now; `wake_at(t)` ends it at time.monotonic() t at the latest.

    Posting is only allowed between `open()` (GLFW is initialised: after the viewport is shown) and
    `close()` (before the context is destroyed); outside that window every call does nothing.
    """

    def __init__(self):
        self._post = _find_post_empty_event()
        self._cond = threading.Condition()
        self._open = False
        self._deadline: float | None = None
        self._timer = threading.Thread(target=self._run_timer, name="eqviz-ui-wake", daemon=True)

    @property
    def available(self) -> bool:
        return self._post is not None

    def open(self) -> None:
        with self._cond:
            self._open = self._post is not None
        if self._open and not self._timer.is_alive():
            self._timer.start()

    def close(self) -> None:
        with self._cond:
            self._open = False
            self._cond.notify()
        if self._timer.is_alive():
            self._timer.join(1.0)

    def wake(self) -> None:
        with self._cond:  # held while posting, so close() cannot let the context go mid-call
            if self._open and self._post is not None:
                self._post()

    def wake_at(self, deadline: float) -> None:
        with self._cond:
            if self._deadline is None or deadline < self._deadline:
                self._deadline = deadline
                self._cond.notify()

    def _run_timer(self) -> None:
        with self._cond:
            while self._open:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._deadline = None
                self._post()
