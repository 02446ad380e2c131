"""Frame layout: a grid of cells, each cell a row of panels (checkpoints x views), with labels on top.

Every frame of a video has the same layout, so the label header is drawn once and reused.
"""
import dataclasses
import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont


GAP = 2            # pixels between panels and cells (background shows through)
BACKGROUND = 16    # dark grey, so black (masked) pixels stay distinguishable from the gaps
LABEL_LINES = 2    # e.g. checkpoint name / view


def auto_grid(n: int) -> tuple[int, int]:
    """Near-square grid for n cells, wider than tall (3 -> 1x3, 8 -> 2x4, 10 -> 3x4)."""
    rows = max(1, math.isqrt(n))
    return rows, math.ceil(n / rows)


@dataclasses.dataclass(frozen=True)
class Layout:
    rows: int
    cols: int
    tile: int                                   # panel width and height in pixels
    labels: tuple[tuple[str, ...], ...] = ()    # per panel of a cell: lines of text; () = no header
    widths: tuple[int, ...] = ()                # per panel of a cell: width in pixels; () = all `tile`

    @property
    def panels(self) -> int:
        return max(1, len(self.labels), len(self.widths))

    def panel_width(self, p: int) -> int:
        return self.widths[p] if self.widths else self.tile

    def panel_x(self, col: int, p: int) -> int:
        """Left edge of panel p in grid column col."""
        return col * (self.cell_width + GAP) + sum(self.panel_width(q) + GAP for q in range(p))

    @property
    def header(self) -> int:
        return _header_height(self.tile) if self.labels else 0

    @property
    def cell_width(self) -> int:
        return sum(self.panel_width(p) for p in range(self.panels)) + (self.panels - 1) * GAP

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of a composed frame."""
        width = self.cols * self.cell_width + (self.cols - 1) * GAP
        height = self.header + self.rows * self.tile + (self.rows - 1) * GAP
        return width, height


def _header_height(tile: int) -> int:
    return LABEL_LINES * _font_size(tile) + 6


def _font_size(tile: int) -> int:
    return int(min(16, max(8, tile // 10)))


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """Shorten with an ellipsis until the text fits the panel width."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def render_header(layout: Layout) -> np.ndarray:
    """[header, width, 3] uint8 strip with every panel's label lines above its column."""
    width, _ = layout.size
    img = Image.new("RGB", (width, layout.header), (BACKGROUND,) * 3)
    draw = ImageDraw.Draw(img)
    size = _font_size(layout.tile)
    font = ImageFont.load_default(size=size)
    for col in range(layout.cols):
        for p, lines in enumerate(layout.labels):
            x = layout.panel_x(col, p)
            for line_no, line in enumerate(lines[:LABEL_LINES]):
                text = _fit(draw, line, font, layout.panel_width(p) - 4)
                draw.text((x + 2, 2 + line_no * size), text, fill=(230, 230, 230), font=font)
    return np.asarray(img)


class Composer:
    """Places panels into frames of a fixed layout (the header is drawn once)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self._header = render_header(layout) if layout.labels else None
        self._header_on = {}  # device -> header tensor, uploaded once

    def compose(self, cells: list[list[np.ndarray]]) -> np.ndarray:
        """cells[k][p]: panel p of cell k (row-major), each [tile, width_p, 3] uint8 -> frame [H, W, 3]."""
        if len(cells) > self.layout.rows * self.layout.cols:
            raise ValueError(f"{len(cells)} cells do not fit a {self.layout.rows}x{self.layout.cols} grid")
        panels = [torch.from_numpy(np.stack([cell[p] for cell in cells]))[None] for p in range(len(cells[0]))]
        return self.compose_batch(panels)[0].numpy()

    def compose_batch(self, panels: list[torch.Tensor]) -> torch.Tensor:
        """panels[p]: panel p of every cell and frame, uint8 [F, cells, tile, width_p, 3] -> frames [F, H, W, 3].

        Works on the panels' device, one copy per panel and cell for the whole batch of frames, so a
        GPU render hands back finished frames in one transfer instead of many small ones.
        """
        lay = self.layout
        count, cells = panels[0].shape[:2]
        if cells > lay.rows * lay.cols:
            raise ValueError(f"{cells} cells do not fit a {lay.rows}x{lay.cols} grid")
        width, height = lay.size
        device = panels[0].device
        frames = torch.full((count, height, width, 3), BACKGROUND, dtype=torch.uint8, device=device)
        if self._header is not None:
            if self._header_on.get(device) is None:
                self._header_on[device] = torch.tensor(self._header, device=device)
            frames[:, : lay.header] = self._header_on[device]
        for k in range(cells):
            r, c = divmod(k, lay.cols)
            y = lay.header + r * (lay.tile + GAP)
            for p, panel in enumerate(panels):
                x = lay.panel_x(c, p)
                frames[:, y : y + lay.tile, x : x + lay.panel_width(p)] = panel[:, k]
        return frames
