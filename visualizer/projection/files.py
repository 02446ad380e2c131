"""The files a projection writes and where: a leaf without torch, so `eqviz project` finds an earlier
run's files (and refuses to replace them without --overwrite) before it loads anything."""
from pathlib import Path

W_FILE = "projected_w.npz"
IMAGE_FILE = "proj.png"
TARGET_FILE = "target.png"
VIDEO_FILE = "proj.mp4"


def output_names(video: bool) -> list[str]:
    """The files each target gets."""
    return [W_FILE, IMAGE_FILE, TARGET_FILE] + ([VIDEO_FILE] if video else [])


def output_folders(out_dir, names: list[str]) -> list[Path]:
    """Where each target's files go: `out_dir` itself for one target, else a subfolder per target named
    after it (numbered when names repeat)."""
    out_dir = Path(out_dir)
    if len(names) == 1:
        return [out_dir]
    stems = [Path(n).stem or "target" for n in names]
    return [out_dir / (s if stems.count(s) == 1 else f"{i:02d}_{s}") for i, s in enumerate(stems)]


def existing_outputs(out_dir, names: list[str], video: bool) -> list[Path]:
    """The files of the targets `names` that are already there (an earlier run's)."""
    return [folder / name for folder in output_folders(out_dir, names) for name in output_names(video)
            if (folder / name).exists()]
