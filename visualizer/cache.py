"""eqviz's one cache on disk: `$EQVIZ_CACHE` (default ~/.cache/eqviz), one subfolder per kind of entry.

Everything here can be rebuilt (statistics recomputed, files downloaded again), so clearing any
kind only costs time. The root is read when asked for, never at import, so a test or a user can
point `EQVIZ_CACHE` elsewhere at any moment. Only the kinds' own subfolders are ever deleted: a root
set by mistake to a folder holding other files loses none of them.
"""
import dataclasses
import hashlib
import os
import shutil
import time
from pathlib import Path

from eqviz.errors import InvalidArgument

CACHE_ENV = "EQVIZ_CACHE"

# Subfolder -> what it holds (what `eqviz cache --info` prints).
KINDS = {
    "downloads": "downloaded checkpoints and metric weights, keyed by URL",
    "fid": "real-data feature statistics for FID and KID",
    "directions": "SeFa and GANSpace directions computed in the app, per model",
    "kernels": "CUDA kernels compiled with nvcc when the shipped fatbin does not fit the GPU",
}

_file_digests: dict = {}  # (path, size, mtime_ns, ctime_ns) -> sha256, so one process hashes a file once
# A file changed again within the file system's timestamp tick can keep its size and times; as git
# does with its index, a digest is only remembered for a file whose times are this much in the past.
SETTLED_S = 2.0


def cache_root() -> Path:
    """$EQVIZ_CACHE, else ~/.cache/eqviz."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "eqviz").expanduser()


def cache_folder(kind: str) -> Path:
    """The subfolder for one kind of entry (not created here; writers create it when they write)."""
    if kind not in KINDS:
        raise InvalidArgument(f"unknown cache kind {kind!r}; choose from {', '.join(KINDS)}", argument="kinds")
    return cache_root() / kind


def file_digest(path) -> str:
    """sha256 of a file's bytes, streamed (remembered per path, size and times once they have settled)."""
    path = Path(path).resolve()
    started_ns = time.time_ns()
    info = path.stat()
    memo_key = (str(path), info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    if memo_key in _file_digests:
        return _file_digests[memo_key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if started_ns - max(info.st_mtime_ns, info.st_ctime_ns) > SETTLED_S * 1e9:
        _file_digests[memo_key] = h.hexdigest()
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class KindUsage:
    kind: str
    folder: Path
    files: int
    bytes: int


def folder_usage(folder: Path) -> tuple[int, int]:
    """(files, bytes) under `folder`, symlinks not followed; (0, 0) when it does not exist."""
    files = size = 0
    for parent, _dirs, names in os.walk(folder):
        for name in names:
            try:
                info = os.lstat(os.path.join(parent, name))
            except OSError:  # removed while we walked
                continue
            files += 1
            size += info.st_size
    return files, size


def cache_usage() -> list[KindUsage]:
    """Files and bytes of every kind, in KINDS order."""
    return [KindUsage(kind, cache_folder(kind), *folder_usage(cache_folder(kind))) for kind in KINDS]


def clear_cache(kinds=None) -> list[KindUsage]:
    """Deletes the given kinds' subfolders (all kinds when None); returns what each held."""
    chosen = list(KINDS) if kinds is None else list(kinds)
    for kind in chosen:
        cache_folder(kind)  # an unknown kind fails before anything is deleted
    cleared = []
    for kind in chosen:
        folder = cache_folder(kind)
        cleared.append(KindUsage(kind, folder, *folder_usage(folder)))
        if folder.is_symlink():
            folder.unlink()
        elif folder.is_dir():
            shutil.rmtree(folder)
    return cleared
