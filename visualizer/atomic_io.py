"""Atomic output files: write under a hidden partial name beside the target, rename on success,
remove on failure.

An interrupted render or a full disk therefore never leaves a half-written PNG, JSON, checkpoint
or video, and an existing file is only replaced once its successor is complete. Partial names
carry the writer's PID and a random token, so a new run never reuses (and never renames into
place) what a dead process left behind; `remove_stale_partials` deletes those leftovers, and
`remove_own_partials` this process's own before it leaves without finishing a writer. Files are
created like any ordinary write (mode 0666 less the umask), not with mkstemp's private 0600.
"""
import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path

from eqviz.errors import EqvizError, InvalidArgument

PARTIAL_MARK = ".partial-"
_folders_with_partials: set[Path] = set()  # where this process named partials (remove_own_partials looks there)


def partial_name(path) -> Path:
    """`.NAME.partial-PID-TOKEN.SUFFIX` beside `path`: same folder (the final rename must not cross
    filesystems), same suffix (encoders pick the format from it), hidden from `ls` and globs."""
    path = Path(path)
    _folders_with_partials.add(path.parent)
    return path.with_name(f".{path.stem}{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")


def process_alive(pid: int) -> bool:
    """Whether a process with this PID runs on this machine (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def remove_stale_partials(path) -> list[Path]:
    """Deletes the partial files and folders of `path` whose writing process no longer runs; returns them."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.stem)}{re.escape(PARTIAL_MARK)}(\d+)-[0-9a-f]+{re.escape(path.suffix)}")
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or process_alive(int(match.group(1))):
            continue
        _remove_entry(entry)
        removed.append(entry)
    return removed


def remove_own_partials() -> list[Path]:
    """Deletes the partial files and folders this process still has, wherever it named them. For a
    process that must leave at once while a writer of it still runs (`os._exit` runs no cleanup), so
    no unfinished output stays behind; returns what it removed."""
    mark = f"{PARTIAL_MARK}{os.getpid()}-"
    removed = []
    for folder in list(_folders_with_partials):
        try:
            entries = [e for e in folder.iterdir() if e.name.startswith(".") and mark in e.name]
        except OSError:
            continue
        for entry in entries:
            _remove_entry(entry)
            removed.append(entry)
    return removed


def _remove_entry(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def current_umask() -> int:
    """The process umask, read without changing it where Linux reports it (changing it, even
    briefly, would race with other threads creating files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def ensure_writable_folder(folder, create: bool = False) -> Path:
    """Checks, by creating and removing a file, that `folder` takes new files (permissions, read-only
    mounts, root or not); with create, makes it first. One-line EqvizError otherwise."""
    folder = Path(folder)
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EqvizError(f"cannot create folder {folder} ({exc.strerror}); choose another output folder") from None
    if not folder.is_dir():
        raise EqvizError(f"folder {folder} does not exist; create it first or choose another output path")
    probe = folder / f".eqviz-write-test{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise EqvizError(f"cannot write to folder {folder} ({exc.strerror}); choose another output folder or make it writable") from None
    finally:  # also when Ctrl+C or SIGTERM lands between creating and removing it
        with contextlib.suppress(OSError):
            probe.unlink()
    return folder


def check_target(path, overwrite: bool, folder: bool = False) -> Path:
    """Before any work: refuse an existing target unless overwrite, refuse a folder where a file goes
    (or a file where a folder goes), and make sure the parent folder takes files."""
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        raise EqvizError(f"{path} is {'a file' if folder else 'a folder'}; choose another output name")
    if path.exists() and not overwrite:
        raise InvalidArgument(f"{path} already exists; allow overwriting to replace it, or choose another name", "overwrite")
    ensure_writable_folder(path.parent)
    return path


@contextlib.contextmanager
def atomic_output(path, overwrite: bool = True):
    """Yields an empty partial file beside `path` (same suffix); renamed onto `path` when the block ends normally."""
    path = check_target(path, overwrite)
    remove_stale_partials(path)
    tmp = partial_name(path)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies, as to any new file
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # some writers (safetensors) replace the file with a private one
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_png(path, img, overwrite: bool = True) -> None:
    """Saves an [H, W, C] uint8 array (C = 1, 3 or 4) as PNG, atomically."""
    import numpy as np  # here, not at the top: every command's argument checks import this module
    from PIL import Image

    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"save_png wants an [H, W, 1|3|4] uint8 array, got {img.dtype} {img.shape}")
    pil = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    with atomic_output(path, overwrite=overwrite) as tmp:
        pil.save(tmp, format="PNG")


def write_text(path, text: str, overwrite: bool = True) -> None:
    """Writes a text file (JSON sessions, metric results) atomically."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
