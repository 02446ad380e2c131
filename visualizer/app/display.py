"""Whether a window can open here; imports no Dear PyGui, so the CLI can ask before starting it."""
import os


def display_problem() -> str | None:
    """Why no window can open here, or None. An X display is opened (and closed) with libX11 before
    Dear PyGui starts: GLFW aborts the whole process (SIGABRT) when DISPLAY names a server that is
    not there."""
    display, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not display:
        return None if wayland else "no display found (DISPLAY / WAYLAND_DISPLAY unset)"
    import ctypes
    import ctypes.util

    try:
        xlib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    except OSError:
        return f"cannot open display {display} (libX11 is not installed)"
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = xlib.XOpenDisplay(display.encode())
    if not connection:
        return f"cannot open display {display} (no X server answers there, or it refused the connection)"
    xlib.XCloseDisplay(connection)
    return None
