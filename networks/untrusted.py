"""Naming values that came out of a file in error messages.

A value read from a checkpoint can be a megabyte string, a list nested a thousand deep or a
structure that shares itself a billion times over; its repr can take minutes or fail. Messages
quote short strings and numbers and describe everything else by its type.
"""
import numpy as np


def short_text(value, limit: int = 60) -> str:
    """`value` for an error message, never longer than about `limit` characters."""
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "...")
    if isinstance(value, (bool, int, float, type(None))) and not isinstance(value, np.generic):
        text = repr(value)
        return text if len(text) <= limit else f"a {len(text)}-digit number"
    if isinstance(value, np.ndarray):
        return f"an array of shape {list(value.shape)[:8]}"
    return f"a {type(value).__name__}"
