"""Errors whose message is one sentence a user can act on (the CLI and the GUI show it as is)."""


class EqvizError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class CheckpointError(EqvizError):
    """A checkpoint could not be read, is unsafe, or does not fit the architecture it declares."""


class InvalidArgument(EqvizError):
    """A library function's argument is wrong. `argument` names it (e.g. "size", "walk_space"), so a
    front end can point at its own control for it: the CLI at the flag, the GUI at the field."""

    def __init__(self, message: str, argument: str):
        super().__init__(message)
        self.argument = argument

    def naming(self, control: str) -> str:
        """The sentence with the argument called as a front end calls it (`control`: a flag, a field
        label): 'num_samples must be ...' -> '--num-samples must be ...'; any other sentence gets
        'control: ' in front."""
        text = str(self)
        if text.startswith(self.argument + " "):
            return control + text[len(self.argument):]
        return f"{control}: {text}"


class Cancelled(EqvizError):
    """A long job stopped because its caller asked it to; not a failure.

    Every background job (metrics, videos, texture sticking) raises this one class. `done` counts the
    units finished (samples, frames, images) of `total`; `partial` is whatever result the finished
    units make up (None when they make up nothing)."""

    def __init__(self, message: str, done: int = 0, total: int = 0, partial=None):
        super().__init__(message)
        self.done = done
        self.total = total
        self.partial = partial


def stop_if_cancelled(cancel, what: str, done: int, total: int, partial=None) -> None:
    """Raises `Cancelled` when `cancel` (a callable returning True once the caller wants to stop, or
    None) says so: the one way every job checks for cancellation between its units of work."""
    if cancel is not None and cancel():
        raise Cancelled(f"{what} cancelled at {done} of {total}", done=done, total=total, partial=partial)


def first_line(exc: BaseException, with_type: bool = False, limit: int = 200) -> str:
    """What a one-sentence error quotes of a cause it cannot show whole: the first line of the exception's
    message, cut to `limit` characters (never a quoted multi-megabyte value), prefixed by its class when
    `with_type`; the class alone when the message is empty."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    text = lines[0] if len(lines[0]) <= limit else lines[0][:limit] + "..."
    return f"{type(exc).__name__}: {text}" if with_type else text
