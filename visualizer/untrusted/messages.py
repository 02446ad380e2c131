"""Naming things that came out of a file in error messages, briefly.

A value read from an untrusted file can be a megabyte string, a list nested a thousand deep or a
structure that shares itself a billion times over; its repr can take minutes or fail. Messages
quote short strings and numbers and describe everything else by its type and size; paths and
exception texts are cut to a line.
"""
import sys


def short_text(value, limit: int = 60) -> str:
    """`value` for an error message, never longer than about `limit` characters."""
    # A numpy value exists only once numpy is imported; importing it here would cost every command's
    # argument checks (which quote through this module) 0.4 s.
    np = sys.modules.get("numpy")
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "...")
    if isinstance(value, (bool, int, float, type(None))) and not (np and isinstance(value, np.generic)):
        text = repr(value)
        return text if len(text) <= limit else f"a {len(text)}-digit number"
    if np and isinstance(value, np.ndarray):
        return f"an array of shape {list(value.shape)[:8]}"
    return f"a {type(value).__name__}"


MAX_PATH_CHARS = 300  # of a path quoted in a message


def short_path(path) -> str:
    """A path for a message: whole unless absurdly long."""
    text = str(path)
    return text if len(text) <= MAX_PATH_CHARS else text[:MAX_PATH_CHARS] + "..."


def format_size(n: int) -> str:
    """Bytes in words: '512 bytes', '3.2 MB', '1.9 GB'."""
    if n < 1000:
        return f"{n} bytes"
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
