"""Where checkpoints are picked from besides the file dialog: the recently opened ones, kept in
$XDG_CONFIG_HOME/eqviz/recent.json (~/.config by default), and the checkpoints of a browsed folder."""
from __future__ import annotations

import json
import os
from pathlib import Path

from eqviz.errors import EqvizError
from eqviz.atomic_io import write_text
from eqviz.downloads.store import source_of

MAX_RECENT = 10
BROWSE_EXTENSIONS = (".pkl", ".safetensors")
MAX_BROWSED = 500  # a folder of thousands of snapshots lists its first 500 (sorted by name)


def recent_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "eqviz" / "recent.json"


def load_recent() -> list[str]:
    """The list, newest first; a missing or damaged file just means no history."""
    try:
        data = json.loads(recent_file().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    if not isinstance(data, list):
        return []
    return [p for p in data if isinstance(p, str)][:MAX_RECENT]


def recent_entry(path: str) -> str:
    """How the list names a loaded file: a downloaded model by its published name or URL (it still
    opens after the cache is cleared), any other file by its absolute path."""
    source = source_of(path)
    return source if source != str(Path(path)) else str(Path(path).expanduser().resolve())


def remember(path: str) -> list[str]:
    """Put `path` first and save; returns the new list. A read-only config folder is not fatal."""
    path = recent_entry(path)
    paths = [path] + [p for p in load_recent() if p != path]
    paths = paths[:MAX_RECENT]
    target = recent_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, json.dumps(paths, indent=1) + "\n")
    except (OSError, EqvizError):
        pass  # the history is a convenience; opening the checkpoint itself succeeded
    return paths


def list_checkpoints(folder: str | Path) -> list[str]:
    """The .pkl / .safetensors files directly inside `folder`, sorted by name (at most MAX_BROWSED)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise EqvizError(f"{folder} is not a folder; give a folder that holds .pkl or .safetensors checkpoints")
    try:
        names = sorted(entry.name for entry in os.scandir(folder)
                       if entry.name.lower().endswith(BROWSE_EXTENSIONS) and entry.is_file())
    except OSError as exc:
        raise EqvizError(f"cannot list {folder}: {exc.strerror}") from None
    return [str(folder / name) for name in names[:MAX_BROWSED]]
