"""Edits: ws[:, first:last] += alpha_k sigma_k d_k, summed over the active edits.

An edit is part of a session's data: the session JSON holds it, and every renderer applies it. They
are applied after truncation (and so after style mixing and A<->B interpolation) and before
synthesis, which then applies the input transform: an edit moves what the picture shows, the
transform where it is shown. An edit carries its own unit vector, so a session JSON that holds it
renders the same picture anywhere without the directions file. `eqviz.directions` finds the
directions edits move along (`edit_from`).
"""
import dataclasses
import math

from eqviz.errors import EqvizError, first_line


UNIT_TOLERANCE = 1e-3  # |length - 1| of an edit's direction (stored as float32 or as JSON decimals)
MAX_ALPHA = 1e3        # standard deviations of W; the app's sliders reach a few
MAX_SCALE = 1e4        # sigma of W along a direction (real models: below 10)


@dataclasses.dataclass(frozen=True)
class Edit:
    direction: tuple[float, ...]    # unit vector in W [w_dim]
    alpha: float                    # strength, in standard deviations of W along the direction
    scale: float                    # sigma of W along the direction: the W distance of alpha = 1
    layers: tuple[int, int]         # [first, last) ws the edit moves
    label: str = ""                 # e.g. 'sefa 3', shown by the app and on sheets

    def __post_init__(self):
        if not self.direction or not all(math.isfinite(v) for v in self.direction):
            raise EqvizError("an edit's direction must be a nonempty list of finite numbers")
        length = math.sqrt(math.fsum(v * v for v in self.direction))
        if abs(length - 1) > UNIT_TOLERANCE:
            raise EqvizError(f"an edit's direction must be a unit vector, this one has length {length:.3g}")
        if not (math.isfinite(self.alpha) and math.isfinite(self.scale) and 0 < self.scale <= MAX_SCALE
                and abs(self.alpha) <= MAX_ALPHA):
            raise EqvizError(f"an edit needs an alpha within +-{MAX_ALPHA:g} and a scale in (0, {MAX_SCALE:g}], got alpha "
                             f"{self.alpha!r}, scale {self.scale!r}")
        first, last = self.layers
        if not 0 <= first < last:
            raise EqvizError(f"an edit's layers must be [first, last) with 0 <= first < last, got {list(self.layers)}")

    def to_dict(self) -> dict:
        return {"label": self.label, "alpha": self.alpha, "scale": self.scale, "layers": list(self.layers),
                "direction": list(self.direction)}

    @classmethod
    def from_dict(cls, d: dict) -> "Edit":
        try:
            first, last = d["layers"]
            return cls(direction=tuple(float(v) for v in d["direction"]), alpha=float(d["alpha"]),
                       scale=float(d["scale"]), layers=(int(first), int(last)), label=str(d.get("label", "")))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise EqvizError(f"an edit in the session is malformed ({type(exc).__name__}: {first_line(exc)}); it needs "
                             "direction, alpha, scale and layers") from None


def edit_offsets(edits, num_ws: int, w_dim: int, device="cpu"):
    """[num_ws, w_dim] float32 tensor: what the edits add to one sample's ws."""
    import numpy as np  # here: a session (which holds edits) is read while a command checks its arguments
    import torch

    offsets = torch.zeros(num_ws, w_dim, dtype=torch.float64)
    for edit in edits:
        first, last = edit.layers
        if len(edit.direction) != w_dim or last > num_ws:
            raise EqvizError(f"edit '{edit.label}' is for a model with w_dim {len(edit.direction)} and at least "
                             f"{last} ws, not this one ({num_ws} ws of width {w_dim}); remove it or recompute it here")
        offsets[first:last] += edit.alpha * edit.scale * torch.tensor(np.asarray(edit.direction, dtype=np.float64))
    return offsets.to(device=device, dtype=torch.float32)


def apply_edits(ws, edits):
    """ws [N, num_ws, w_dim] (a tensor) with the edits added; the same tensor when no edit has a nonzero alpha, so
    alpha = 0 leaves the image bit-identical."""
    active = [edit for edit in edits if edit.alpha != 0]
    if not active:
        return ws
    return ws + edit_offsets(active, ws.shape[1], ws.shape[2], ws.device).to(ws.dtype)
