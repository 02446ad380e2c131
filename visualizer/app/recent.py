"""The recently opened checkpoints, kept in $XDG_CONFIG_HOME/eqviz/recent.json (~/.config by default)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from eqviz.errors import EqvizError
from eqviz.atomic_io import write_text

MAX_RECENT = 10


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


def remember(path: str) -> list[str]:
    """Put `path` first and save; returns the new list. A read-only config folder is not fatal."""
    path = str(Path(path).expanduser().resolve())
    paths = [path] + [p for p in load_recent() if p != path]
    paths = paths[:MAX_RECENT]
    target = recent_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, json.dumps(paths, indent=1) + "\n")
    except (OSError, EqvizError):
        pass  # the history is a convenience; opening the checkpoint itself succeeded
    return paths
