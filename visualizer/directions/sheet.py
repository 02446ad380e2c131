"""Direction sheets (GANSpace's figure for any checkpoint): one row per (direction, seed), one column
per alpha from -strength to +strength, labelled, as one RGB image."""
import dataclasses

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from eqviz.core.latents import session_ws
from eqviz.core.images import to_uint8
from eqviz.core.rendering import check_finite, render_session
from eqviz.core.session import Session
from eqviz.directions.basis import Directions
from eqviz.core.edits import edit_offsets
from eqviz.directions.edits import edit_from
from eqviz.errors import EqvizError, InvalidArgument, stop_if_cancelled
from eqviz.core.resampling import resize_panels

ROW_ORDERS = ("directions", "seeds")  # rows grouped by direction (each over the seeds) or by seed
GAP = 2
BACKGROUND = (16, 16, 16)
TEXT = (230, 230, 230)


def sheet_rows(indices, seeds, rows: str) -> list[tuple[int, int]]:
    """(direction index, seed) per row, direction-major or seed-major."""
    if rows not in ROW_ORDERS:
        raise InvalidArgument(f"rows must be 'directions' or 'seeds', got {rows!r}", "rows")
    if rows == "directions":
        return [(k, s) for k in indices for s in seeds]
    return [(k, s) for s in seeds for k in indices]


def sheet_alphas(strength: float, steps: int) -> np.ndarray:
    if not (np.isfinite(strength) and strength > 0):
        raise InvalidArgument(f"strength must be a positive number of standard deviations, got {strength}", "strength")
    if not 2 <= steps <= 33:
        raise InvalidArgument(f"steps must be between 2 and 33 columns, got {steps}", "steps")
    return np.linspace(-strength, strength, steps)


@torch.no_grad()
def direction_sheet(G, directions: Directions, indices, seeds, strength: float = 3.0, steps: int = 5,
                    rows: str = "directions", session: Session | None = None, tile: int | None = None,
                    device="cpu", progress=None, cancel=None, layers: dict | None = None) -> np.ndarray:
    """[H, W, 3] uint8 sheet. session: the latent settings, pose and edits every row starts from
    (its seed is replaced by each row's seed); tile: pixels per image (default the resolution, at
    most 256); layers: {direction index: (first, last)} ws ranges replacing the set's own range.
    progress(done_rows, total_rows) after each row; `cancel()` is polled between rows."""
    base = session or Session()
    alphas = sheet_alphas(strength, steps)
    missing = [k for k in indices if not 0 <= k < len(directions)]
    if missing:
        raise InvalidArgument(f"direction {missing[0]} does not exist; this set has directions 0 to {len(directions) - 1}",
                              "indices")
    order = sheet_rows(list(indices), list(seeds), rows)
    if not order:
        raise EqvizError("a sheet needs at least one direction and one seed")
    tile = int(tile or min(G.img_resolution, 256))
    if not 16 <= tile <= 1024:
        raise InvalidArgument(f"tile size must be between 16 and 1024 pixels, got {tile}", "tile")
    images = []
    for done, (k, seed) in enumerate(order):
        stop_if_cancelled(cancel, "direction sheet", done, len(order))
        ws = session_ws(G, dataclasses.replace(base, latent_x=float(seed), latent_y=0.0), device)
        unit = edit_offsets([edit_from(directions, k, 1.0, (layers or {}).get(k))], G.num_ws, G.w_dim, ws.device)
        row_ws = ws + torch.from_numpy(alphas).to(ws.device, torch.float32).view(-1, 1, 1) * unit
        img = check_finite(render_session(G, base, device, ws=row_ws))
        images.append(resize_panels(img.float(), tile).cpu())
        if progress is not None:
            progress(done + 1, len(order))
    labels = [f"{directions.label(k)}  seed {seed}" for k, seed in order]
    return compose_sheet(images, labels, [f"alpha {a:+.3g}" for a in alphas], tile)


def compose_sheet(rows: list[torch.Tensor], row_labels: list[str], column_labels: list[str], tile: int) -> np.ndarray:
    """Rows of images [steps, C, tile, tile] with a label column on the left and a header on top."""
    font_size = int(min(16, max(9, tile // 8)))
    font = ImageFont.load_default(size=font_size)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_width = int(max(measure.textlength(text, font=font) for text in row_labels)) + 2 * GAP + 6
    header = font_size + 3 * GAP
    steps = rows[0].shape[0]
    width = label_width + steps * (tile + GAP)
    height = header + len(rows) * (tile + GAP)
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for c, text in enumerate(column_labels):
        x = label_width + c * (tile + GAP) + (tile - measure.textlength(text, font=font)) / 2
        draw.text((x, GAP), text, fill=TEXT, font=font)
    for r, (images, text) in enumerate(zip(rows, row_labels)):
        y = header + r * (tile + GAP)
        draw.text((GAP + 2, y + (tile - font_size) / 2), text, fill=TEXT, font=font)
        for c in range(steps):
            sheet.paste(Image.fromarray(to_uint8(images[c])), (label_width + c * (tile + GAP), y))
    return np.asarray(sheet)
