"""Errors whose message is one sentence a user can act on (the CLI and the GUI show it as is)."""


class EqvizError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class CheckpointError(EqvizError):
    """A checkpoint could not be read, is unsafe, or does not fit the architecture it declares."""
