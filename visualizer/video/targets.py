"""Where a video export goes and whether it may go there, checked before any frame is rendered.

A leaf without numpy, Pillow or torch: `eqviz video` and `eqviz sticking` check their outputs
(and state their defaults) while their arguments are read, so a mistake answers at once.
"""
import re
from pathlib import Path

from eqviz.atomic_io import PARTIAL_MARK, check_target
from eqviz.errors import EqvizError, InvalidArgument

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
DEFAULT_CRF = 18


def check_crf(crf: int) -> None:
    if not 0 <= crf <= 51:
        raise InvalidArgument(f"crf {crf} is out of range; libx264 takes 0 (lossless) to 51 (worst), 18 is visually "
                              "lossless.", "crf")


def output_kind(path) -> str:
    """'mp4' | 'gif' | 'png' (a folder of frames) from the target path's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "mp4"
    if suffix == ".gif":
        return "gif"
    if suffix == "":
        return "png"
    raise EqvizError(f"cannot write video to '{path}': use a .mp4, .mov, .mkv or .gif file, or a folder name without suffix for PNG frames.")


FRAME_FILE = re.compile(r"frame_\d{6,}\.png")  # the names PngFolderWriter gives frames


def foreign_entries(folder: Path) -> list[str]:
    """Names in `folder` that are not video frames eqviz writes (nor its own partial files)."""
    return sorted(e.name for e in folder.iterdir() if not FRAME_FILE.fullmatch(e.name) and PARTIAL_MARK not in e.name)


def check_output(path, overwrite: bool) -> Path:
    """Refuses, before any work, a video target that cannot be written: its kind unknown, present
    without overwrite, a folder for a file (or the reverse), or a folder holding files eqviz did not
    write (overwrite never deletes those)."""
    folder = output_kind(path) == "png"
    target = check_target(path, overwrite, folder=folder)
    if folder and target.is_dir():
        foreign = foreign_entries(target)
        if foreign:
            shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
            raise EqvizError(f"'{target}' holds files eqviz did not write ({shown}); frames are only written over an "
                             "earlier folder of frames, so choose a new or empty folder.")
    return target
