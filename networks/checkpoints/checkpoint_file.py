"""Opening a checkpoint path: only regular files, and a sentence for everything else.

`open()` on a named pipe blocks until something writes to it, and a device such as /dev/zero
never ends; both are told apart with `stat` before anything is opened. The file is then opened
without blocking and checked again on the open descriptor, so a path swapped in between cannot
slip through.
"""
import os
import stat
from pathlib import Path

from eqviz.errors import CheckpointError

_KINDS = (
    (stat.S_ISDIR, "a folder, not a checkpoint; pass the .pkl or .safetensors file inside it"),
    (stat.S_ISFIFO, "a named pipe, not a checkpoint file; save the checkpoint to a regular file first"),
    (stat.S_ISCHR, "a device, not a checkpoint file; pass a regular .pkl or .safetensors file"),
    (stat.S_ISBLK, "a device, not a checkpoint file; pass a regular .pkl or .safetensors file"),
    (stat.S_ISSOCK, "a socket, not a checkpoint file; pass a regular .pkl or .safetensors file"),
)


def describe_non_regular(mode: int) -> str | None:
    """What a path of this st_mode is, as the end of a sentence, or None for a regular file."""
    for test, what in _KINDS:
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file; pass a .pkl or .safetensors file"


def check_regular_file(path) -> os.stat_result:
    """stat of `path` (symlinks followed) when it is a regular file; CheckpointError otherwise."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path} (the path does not exist); check the path") from None
    except OSError as exc:
        raise CheckpointError(f"cannot look at {path} ({exc.strerror}); check the path and its permissions") from None
    what = describe_non_regular(info.st_mode)
    if what is not None:
        raise CheckpointError(f"{path} is {what}")
    return info


def open_regular_file(path):
    """`path` opened for binary reading when it is a regular file (checked before opening, without
    blocking, and again on the open descriptor); CheckpointError otherwise."""
    path = Path(path)
    check_regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise CheckpointError(f"cannot read {path} ({exc.strerror}); check its permissions") from None
    what = describe_non_regular(os.fstat(fd).st_mode)
    if what is not None:
        os.close(fd)
        raise CheckpointError(f"{path} is {what}")
    return os.fdopen(fd, "rb")


def read_regular_file(path, head: int | None = None) -> bytes:
    """The bytes of a regular file (or its first `head` bytes); CheckpointError for anything else."""
    with open_regular_file(path) as f:
        try:
            return f.read() if head is None else f.read(head)
        except OSError as exc:
            raise CheckpointError(f"cannot read {path} ({exc.strerror}); check the file") from None
