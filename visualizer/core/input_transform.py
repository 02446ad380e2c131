"""The StyleGAN3 input transform as NVIDIA's tools define it, given per sample: a pose per image.

NVIDIA's visualizer and gen_images.py build M = [[cos a, sin a, tx], [-sin a, cos a, ty], [0, 0, 1]]
(t in image-size units, a counter-clockwise as displayed) and write inv(M), computed in float64, into
the float32 buffer `G.synthesis.input.transform`. eqviz computes the same inv(M) but never writes the
buffer: every image passes its own as `input_transforms`, so one generator can serve the app and
any number of background jobs at once, and a batch can hold frames at different poses.
"""
import math

import numpy as np
import torch

from eqviz.errors import EqvizError
from eqviz.networks.filter_design import rotation_matrix

IDENTITY_POSE = ((0.0, 0.0), 0.0)  # (translate, rotate_deg) that leaves the image as it is


def supports_input_transform(G) -> bool:
    return bool(getattr(G, "supports_input_transform", False))


def transform_matrix(translate=(0.0, 0.0), rotate_deg: float = 0.0) -> np.ndarray:
    """M (float64): content at q appears at M q; tx > 0 moves right, ty > 0 down, a > 0 counter-clockwise."""
    M = rotation_matrix(math.radians(float(rotate_deg)), dtype=torch.float64).numpy()
    M[:2, 2] = [float(v) for v in translate]
    return M


def wrapped_degrees(degrees: float) -> float:
    """The same rotation in (-180, 180]: the range the app's slider, keys and drag keep."""
    wrapped = math.remainder(float(degrees), 360.0)
    return 180.0 if wrapped == -180.0 else wrapped


def is_identity_pose(pose) -> bool:
    (tx, ty), rotate_deg = pose
    return tx == 0 and ty == 0 and rotate_deg == 0


def inverse_transforms(poses, device="cpu") -> torch.Tensor:
    """[N, 3, 3] float32 inv(M) for poses [(translate, rotate_deg), ...]: inverted in float64, then
    rounded to float32, exactly what NVIDIA writes into the transform buffer."""
    inverses = []
    for translate, rotate_deg in poses:
        M = transform_matrix(translate, rotate_deg)
        if not np.isfinite(M).all():
            raise EqvizError(f"translate and rotate must be finite numbers, got {translate!r} and {rotate_deg!r}")
        inverses.append(np.linalg.inv(M))
    return torch.from_numpy(np.stack(inverses)).to(torch.float32).to(device)


def synthesize(G, ws: torch.Tensor, transforms: torch.Tensor | None = None, noise_mode: str = "const", **kwargs):
    """G.synthesis(ws) with sample i posed by transforms[i] (inverse transforms [N, 3, 3], None = identity).

    The one way eqviz poses a generator. StyleGAN2 has no input transform: it takes only the identity,
    and anything else is refused with a sentence. Extra keyword arguments go to the synthesis network.
    """
    if not supports_input_transform(G):
        if transforms is not None and not bool((transforms == torch.eye(3, device=transforms.device)).all()):
            raise EqvizError(
                "this StyleGAN2 generator has no input transform, so it cannot be translated or rotated; "
                "use a StyleGAN3 checkpoint or leave translate/rotate at 0"
            )
        return G.synthesis(ws, noise_mode=noise_mode, **kwargs)
    if transforms is None:
        transforms = torch.eye(3, device=ws.device).expand(ws.shape[0], 3, 3)
    return G.synthesis(ws, noise_mode=noise_mode, input_transforms=transforms.to(ws.device), **kwargs)


def synthesize_posed(G, ws: torch.Tensor, pose=IDENTITY_POSE, noise_mode: str = "const", **kwargs):
    """`synthesize` with every sample at the one pose (translate, rotate_deg)."""
    transforms = None if is_identity_pose(pose) else inverse_transforms([pose], ws.device).expand(ws.shape[0], 3, 3)
    return synthesize(G, ws, transforms, noise_mode, **kwargs)
