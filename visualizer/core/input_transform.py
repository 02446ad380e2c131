"""The StyleGAN3 input transform as NVIDIA's tools define it: translation and rotation of the image.

NVIDIA's visualizer and gen_images.py build M = [[cos a, sin a, tx], [-sin a, cos a, ty], [0, 0, 1]]
(t in image-size units, a counter-clockwise as displayed) and write inv(M), computed in float64, into
the float32 buffer `G.synthesis.input.transform`. Doing exactly the same keeps our pictures identical.
"""
import math

import numpy as np
import torch

from eqviz.errors import EqvizError


def supports_input_transform(G) -> bool:
    return bool(getattr(G, "supports_input_transform", False))


def transform_matrix(translate=(0.0, 0.0), rotate_deg: float = 0.0) -> np.ndarray:
    """M (float64): content at q appears at M q; tx > 0 moves right, ty > 0 down, a > 0 counter-clockwise."""
    a = math.radians(float(rotate_deg))
    tx, ty = (float(v) for v in translate)
    return np.array([[math.cos(a), math.sin(a), tx], [-math.sin(a), math.cos(a), ty], [0.0, 0.0, 1.0]])


def is_identity(M: np.ndarray) -> bool:
    return bool(np.array_equal(np.asarray(M, dtype=np.float64), np.eye(3)))


def set_input_transform(G, M: np.ndarray) -> None:
    """Writes inv(M) into G.synthesis.input.transform; StyleGAN2 accepts only the identity."""
    if not supports_input_transform(G):
        if is_identity(M):
            return
        raise EqvizError(
            "this StyleGAN2 generator has no input transform, so it cannot be translated or rotated; "
            "use a StyleGAN3 checkpoint or leave translate/rotate at 0"
        )
    M = np.asarray(M, dtype=np.float64)
    if M.shape != (3, 3) or not np.isfinite(M).all():
        raise EqvizError(f"input transform must be a finite 3x3 matrix, got {M!r}")
    buf = G.synthesis.input.transform
    with torch.no_grad():
        buf.copy_(torch.from_numpy(np.linalg.inv(M)).to(dtype=buf.dtype, device=buf.device))
