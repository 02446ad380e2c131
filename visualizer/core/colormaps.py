"""The one colour scale of error images (the app's live map, the equivariance panel, videos), and its legend.

What is shown is the squared error per pixel, averaged over channels (images span [-1, 1]), on a
log scale from 1e-6 (black) to 1 (bright), so one glance tells a 60 dB frame from a 20 dB one. The
colours are matplotlib's perceptually uniform 'magma' map, sampled once into a 256-entry table.
"""
import functools

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from eqviz.core.images import unit_to_uint8

ERROR_COLORMAP = "magma"
ERROR_LOG10_RANGE = (-6.0, 0.0)  # log10 of the squared error at the dark and the bright end
TABLE_SIZE = 256
ERROR_LEGEND_CAPTION = "squared error per pixel, log scale"  # what the legend's numbers are


@functools.cache
def error_table() -> np.ndarray:
    """[256, 3] uint8: matplotlib's ERROR_COLORMAP sampled at 256 even steps (imported on first use)."""
    from matplotlib import colormaps

    return unit_to_uint8(colormaps[ERROR_COLORMAP](np.linspace(0.0, 1.0, TABLE_SIZE))[:, :3])


def error_positions(sq_err: torch.Tensor) -> torch.Tensor:
    """Squared errors -> positions in [0, 1] on the log scale (0 at or below 1e-6, 1 at or above 1)."""
    lo, hi = ERROR_LOG10_RANGE
    return ((sq_err.clamp(min=10.0 ** lo).log10() - lo) / (hi - lo)).clamp(0.0, 1.0)


@functools.cache
def error_table_on(device: torch.device) -> torch.Tensor:
    """`error_table` as a tensor on `device`, copied there once (the live map looks it up every frame)."""
    return torch.from_numpy(error_table()).to(device)


def error_colours(sq_err: torch.Tensor) -> torch.Tensor:
    """Squared errors [...] -> uint8 colours [..., 3] on the same device (a table lookup)."""
    table = error_table_on(sq_err.device)
    index = (error_positions(sq_err.float()) * (TABLE_SIZE - 1)).round().long()
    return table[index]


def error_legend(width: int, height: int = 34) -> np.ndarray:
    """[height, width, 3] uint8: the colour bar with its decades labelled, to show beside an error map."""
    lo, hi = ERROR_LOG10_RANGE
    bar_h = max(6, height // 3)
    positions = torch.linspace(0.0, 1.0, width)
    bar = error_colours(10.0 ** (lo + positions * (hi - lo))).numpy()
    img = Image.new("RGB", (width, height), (16, 16, 16))
    img.paste(Image.fromarray(np.repeat(bar[None], bar_h, axis=0)), (0, 0))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(8, height - bar_h - 6))
    decades = range(int(lo), int(hi) + 1, 2)
    for decade in decades:
        x = round((decade - lo) / (hi - lo) * (width - 1))
        text = "1" if decade == 0 else f"1e{decade}"
        draw.line([(x, bar_h), (x, bar_h + 2)], fill=(230, 230, 230))
        left = min(max(x - draw.textlength(text, font=font) / 2, 0), width - draw.textlength(text, font=font))
        draw.text((left, bar_h + 3), text, fill=(230, 230, 230), font=font)
    return np.asarray(img)
