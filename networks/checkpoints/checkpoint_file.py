"""Opening a checkpoint path: only regular files, and a sentence for everything else.

The checks are eqviz.untrusted.files' (stat before opening, open without blocking, check again on
the open descriptor), raising CheckpointError; a checkpoint's size is bounded later, against the
memory limit, by the loader.
"""
import os

from eqviz.errors import CheckpointError
from eqviz.untrusted import files
from eqviz.untrusted.files import FileKind

CHECKPOINT_FILE = FileKind("checkpoint", 1 << 62, "pass a regular .pkl or .safetensors checkpoint file",
                           error=CheckpointError)


def check_regular_file(path) -> os.stat_result:
    """stat of `path` (symlinks followed) when it is a regular file; CheckpointError otherwise."""
    return files.check_regular_file(path, CHECKPOINT_FILE)


def open_regular_file(path):
    """`path` opened for binary reading when it is a regular file (checked before opening, without
    blocking, and again on the open descriptor); CheckpointError otherwise."""
    return files.open_untrusted(path, CHECKPOINT_FILE)


def read_regular_file(path, head: int | None = None) -> bytes:
    """The bytes of a regular file (or its first `head` bytes); CheckpointError for anything else."""
    with open_regular_file(path) as f:
        try:
            return f.read() if head is None else f.read(head)
        except OSError as exc:
            raise CHECKPOINT_FILE.refuse(path, f"cannot be read ({exc.strerror})") from None
