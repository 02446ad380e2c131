"""Opening an untrusted path: only regular files, within a size cap per kind of file.

`open()` on a named pipe blocks until something writes to it, a device such as /dev/zero never
ends, and a sparse file can declare terabytes. The path is `stat`ed first, opened without blocking
and checked again on the open descriptor, so a path swapped in between cannot slip through.
"""
import dataclasses
import os
import stat
from pathlib import Path

from eqviz.errors import EqvizError, InvalidArgument
from eqviz.untrusted.messages import format_size, short_path


class UntrustedFileError(EqvizError):
    """A file eqviz was asked to read is missing, not a regular file, too big, damaged or crafted."""


@dataclasses.dataclass(frozen=True)
class FileKind:
    """What a file is for, as refusals name it, and what it may cost."""

    name: str                     # e.g. "session file": starts every refusal about such a file
    max_bytes: int                # larger files are refused before a byte is read
    hint: str                     # what to pass instead, ending every refusal
    error: type = UntrustedFileError  # the EqvizError subclass a refusal raises
    argument: str | None = None   # with an InvalidArgument error: the library argument that named the file

    def refuse(self, path, problem: str) -> EqvizError:
        """The exception for `problem` (a sentence's middle, e.g. 'is a named pipe') about `path`."""
        message = f"{self.name} {short_path(path)} {problem}; {self.hint}"
        if self.argument is not None:
            return InvalidArgument(message, argument=self.argument)
        return self.error(message)


_NON_REGULAR = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a named pipe, not a file (reading it would wait for a writer forever)"),
    (stat.S_ISCHR, "is a device, not a file"),
    (stat.S_ISBLK, "is a device, not a file"),
    (stat.S_ISSOCK, "is a socket, not a file"),
)


def describe_non_regular(mode: int) -> str | None:
    """What a path of this st_mode is ('is a named pipe, ...'), or None for a regular file."""
    for test, what in _NON_REGULAR:
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "is not a regular file"


def _checked(path, info: os.stat_result, kind: FileKind) -> None:
    what = describe_non_regular(info.st_mode)
    if what is not None:
        raise kind.refuse(path, what)
    if info.st_size > kind.max_bytes:
        raise kind.refuse(path, f"has {format_size(info.st_size)}, more than the {format_size(kind.max_bytes)} "
                                f"such a file may have")


def check_regular_file(path, kind: FileKind) -> os.stat_result:
    """stat of `path` (symlinks followed) when it is a regular file within the kind's size cap."""
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        raise kind.refuse(path, "does not exist") from None
    except OSError as exc:
        raise kind.refuse(path, f"cannot be looked at ({exc.strerror})") from None
    _checked(path, info, kind)
    return info


def open_untrusted(path, kind: FileKind):
    """`path` opened for binary reading, checked before opening (without blocking) and again on the
    open descriptor: a regular file within the kind's size cap."""
    check_regular_file(path, kind)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise kind.refuse(path, f"cannot be opened ({exc.strerror})") from None
    try:
        _checked(path, os.fstat(fd), kind)
    except EqvizError:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_untrusted(path, kind: FileKind) -> bytes:
    """The whole file, through `open_untrusted`'s checks; never more than the kind's cap."""
    with open_untrusted(path, kind) as f:
        try:
            data = f.read(kind.max_bytes + 1)
        except OSError as exc:
            raise kind.refuse(path, f"cannot be read ({exc.strerror})") from None
    if len(data) > kind.max_bytes:  # it grew after the check
        raise kind.refuse(path, f"is larger than the {format_size(kind.max_bytes)} such a file may have")
    return data
