"""Driving the real app window in tests: step it, fire widget callbacks, take screenshots, and send
real pointer and keyboard input through xdotool (Xvfb in CI)."""
import contextlib
import shutil
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from eqviz.app.display import display_problem

NEEDS_DISPLAY = pytest.mark.skipif(display_problem() is not None,
                                   reason="needs a display: run the tests under `xvfb-run -a python3 -m pytest`")
NEEDS_XDOTOOL = pytest.mark.skipif(shutil.which("xdotool") is None,
                                   reason="needs xdotool (apt-get install xdotool) to send input")
# Where Dear PyGui's file dialog (640 x 420, centred in the viewport) draws its name box and OK button.
DIALOG_SIZE = (640, 420)
DIALOG_NAME_BOX = (270, 378)
DIALOG_OK = (18, 402)
DIALOG_CANCEL = (62, 402)


# Dear PyGui 2.3's destroy_context leaves the viewport's GLFW window alive with ImGui's input callbacks on it
# (hoffstadt/DearPyGui#2662); once a second context is built, a pointer event for the windows (as the
# new one maps) can reach ImGui_ImplGlfw_CursorEnterCallback with freed backend data and segfault the
# process, now and then. The app opens one window per process; so must tests.
_windows_opened = []


@contextlib.contextmanager
def running_app(checkpoint, **options):
    """A started, settled App on `checkpoint` at latent_x 2 (a seed with some contrast); shut down on exit.
    One per process: share it through a module-scoped fixture."""
    from eqviz.app.app import App, AppOptions
    from eqviz.app.state import AppState
    if _windows_opened:
        pytest.fail("a second app window in this process: Dear PyGui may crash on it; open one per test module "
                    "(a module-scoped fixture)", pytrace=False)
    _windows_opened.append(checkpoint)
    state = AppState()
    state.session.latent_x = 2.0
    app = App(AppOptions(checkpoint=str(checkpoint), state=state, **options))
    app.start()
    try:
        settle(app)
        yield app
    finally:
        app.shutdown()


def step_until(app, condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert app.step(), "the window closed"
        if condition():
            return
    raise AssertionError(f"app did not get there in {timeout} s (status: {app.status})")


def panel_of(app, class_name: str):
    """The app's panel of that class (by name: the window tests import the app lazily)."""
    return next(p for p in app.panels if type(p).__name__ == class_name)


def settle(app):
    """Step until what is on screen is the current state (and a couple of frames drew it)."""
    step_until(app, lambda: app.idle and app.frames_answered > 0)
    for _ in range(2):
        if not app.asleep:  # a sleeping window already drew the current state before it slept
            app.step()


def step_for(app, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.step()


def fire(tag, value=None):
    """Set a widget's value and run its callback, as a click or an edit would."""
    import dearpygui.dearpygui as dpg
    if value is not None:
        dpg.set_value(tag, value)
    dpg.get_item_callback(tag)(tag, value, dpg.get_item_user_data(tag))


def screenshot(app, path):
    from eqviz.app.capture import save_screenshot
    saved = []
    save_screenshot(app, str(path), on_saved=saved.append)
    step_until(app, lambda: bool(saved), timeout=10)
    return np.asarray(Image.open(path).convert("RGB"))


def item_region(shot, tag):
    """An item's pixels in a window screenshot."""
    import dearpygui.dearpygui as dpg
    x, y = (int(v) for v in dpg.get_item_rect_min(tag))
    w, h = (int(v) for v in dpg.get_item_rect_size(tag))
    return shot[y:y + h, x:x + w]


def shown_region(shot):
    """The main image's pixels in a window screenshot."""
    return item_region(shot, "main_image")


def xdotool(*args):
    subprocess.run(["xdotool", *map(str, args)], check=True, timeout=20, capture_output=True)


def send(app, *args, frames=10):
    """One xdotool command, then `frames` UI frames for ImGui to take its events (it takes one key or
    button change per frame), counted in frames so that a busy machine only makes it slower."""
    app.stay_awake(3600)
    try:
        xdotool(*args)
        for _ in range(frames):
            app.step()
    finally:
        app.stay_awake(0)


def focus_window(app):
    """Give the app's window the keyboard (Xvfb has no window manager to do it)."""
    found = subprocess.run(["xdotool", "search", "--name", f"^{app.options.title}"], capture_output=True,
                           text=True, timeout=20).stdout.split()
    assert found, "the app's window is not on the display"
    send(app, "windowfocus", "--sync", found[0])
    return found[0]


def click(app, window, x, y):
    send(app, "mousemove", "--window", window, x, y, "click", "1")


def dialog_point(offset):
    """Viewport coordinates of a point of an open file dialog."""
    import dearpygui.dearpygui as dpg
    left = (dpg.get_viewport_client_width() - DIALOG_SIZE[0]) // 2
    top = (dpg.get_viewport_client_height() - DIALOG_SIZE[1]) // 2
    return left + offset[0], top + offset[1]


def open_dialog(app, tag):
    import dearpygui.dearpygui as dpg
    dpg.show_item(tag)
    app.stay_awake(3600)
    for _ in range(5):
        app.step()
    app.stay_awake(0)


def type_in_dialog(app, window, text):
    """Click the open file dialog's name box, replace its text with `text` (typed key by key)."""
    click(app, window, *dialog_point(DIALOG_NAME_BOX))
    send(app, "key", "ctrl+a")
    send(app, "type", "--delay", 20, text, frames=3 * len(text) + 10)


def close_window(window):
    """Ask the window to close as a window manager's close button does (a WM_DELETE_WINDOW client
    message; Xvfb has no window manager, and xdotool 3.2016 cannot send one)."""
    import ctypes

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]

    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    assert display, "no X display"
    try:
        event = ClientMessage(type=33, send_event=1, display=display, window=int(window),  # 33: ClientMessage
                              message_type=x11.XInternAtom(display, b"WM_PROTOCOLS", 0), format=32)
        event.data[0] = x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        x11.XSendEvent(display, int(window), 0, 0, ctypes.byref(event))
        x11.XFlush(display)
    finally:
        x11.XCloseDisplay(display)


def window_of(title, timeout=60.0):
    """The X window id of a window whose name starts with `title` (another process's app, say)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--name", f"^{title}"], capture_output=True, text=True,
                               timeout=20).stdout.split()
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no window named {title!r} appeared")
