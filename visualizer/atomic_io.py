"""Atomic output files: write to a temp file beside the target, rename on success, remove on failure.

An interrupted render or a full disk therefore never leaves a half-written PNG, JSON or video, and
an existing file is only replaced once its successor is complete.
"""
import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from eqviz.errors import EqvizError


@contextlib.contextmanager
def atomic_output(path, overwrite: bool = True):
    """Yields a temp path in the target's folder (same suffix, so encoders pick the format)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise EqvizError(f"{path} already exists; pass --overwrite to replace it or choose another name")
    if not path.parent.is_dir():
        raise EqvizError(f"folder {path.parent} does not exist; create it first or choose another output path")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_png(path, img: np.ndarray, overwrite: bool = True) -> None:
    """Saves an [H, W, C] uint8 array (C = 1, 3 or 4) as PNG, atomically."""
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"save_png wants an [H, W, 1|3|4] uint8 array, got {img.dtype} {img.shape}")
    pil = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    with atomic_output(path, overwrite=overwrite) as tmp:
        pil.save(tmp, format="PNG")


def write_text(path, text: str, overwrite: bool = True) -> None:
    """Writes a text file (JSON sessions, metric results) atomically."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
