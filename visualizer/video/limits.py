"""Bounds on what a video may ask for, so a typo fails in one sentence instead of exhausting memory.

A leaf (no torch): the command line checks them before loading anything. Every bound is far past
real use: 1024² generators shown four times enlarged, 32x32 grids, an hour at 240 fps.
"""
from eqviz.errors import InvalidArgument

MIN_TILE = 8                   # smallest panel size in pixels
MAX_TILE = 4096                # largest panel size in pixels
MAX_CELLS = 1024               # grid cells (one seed each, or one walk each)
MAX_WALK_SEEDS = 65536         # keyframes of all walks together
MAX_FRAMES = 1_000_000         # frames of one video
MAX_FRAME_PIXELS = 8192 ** 2   # pixels of one composed frame (192 MB as RGB)


def check_tile(size: int | None) -> None:
    if size is not None and not MIN_TILE <= size <= MAX_TILE:
        raise InvalidArgument(f"size {size} is outside {MIN_TILE} to {MAX_TILE} pixels per panel", "size")


def check_cells(cells: int, argument: str = "grid") -> None:
    if cells > MAX_CELLS:
        raise InvalidArgument(f"{cells:,} grid cells are more than the {MAX_CELLS:,} a video can show; use fewer seeds "
                              "or a smaller grid", argument)


def check_walk_seeds(seeds: int) -> None:
    if seeds > MAX_WALK_SEEDS:
        raise InvalidArgument(f"{seeds:,} seeds are more than the {MAX_WALK_SEEDS:,} keyframes a walk may have", "seeds")


def check_frame_count(frames: int) -> None:
    if frames > MAX_FRAMES:
        raise InvalidArgument(f"{frames:,} frames are more than the {MAX_FRAMES:,} a video may have; shorten it or "
                              "lower the frame rate", "frames")


def check_frame_size(width: int, height: int) -> None:
    if width * height > MAX_FRAME_PIXELS:
        raise InvalidArgument(f"a {width}x{height} frame is over {MAX_FRAME_PIXELS // 10**6} megapixels; use a smaller "
                              "panel size or fewer panels", "size")
