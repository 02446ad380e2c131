"""Shared resampling maths: sinc, Lanczos, low-pass filter design and band-limited transform filters.

One module, used by the generators (filter construction), the equivariance metrics and the
untransform / video views, so that every place resamples with the same numbers.
"""
import numpy as np
import torch


# ---- Normalised sinc: sin(pi x) / (pi x), with the removable singularity at 0 filled by 1 ------
def sinc(x: torch.Tensor) -> torch.Tensor:
    arg = np.pi * x.abs()
    tiny = arg < 1e-30
    return torch.where(tiny, torch.ones_like(x), torch.sin(arg) / torch.where(tiny, torch.ones_like(arg), arg))


# ---- Lanczos window of half-width a: sinc(x / a) for |x| < a, zero beyond ------------------------
def lanczos_window(x: torch.Tensor, a: float) -> torch.Tensor:
    u = x.abs() / a
    return torch.where(u < 1, sinc(u), torch.zeros_like(u))


# ---- Rotation in NVIDIA's 3x3 convention: [[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]] -------------
def rotation_matrix(angle) -> torch.Tensor:
    angle = torch.as_tensor(angle, dtype=torch.float32)
    c, s = angle.cos(), angle.sin()
    one, zero = torch.ones_like(c), torch.zeros_like(c)
    return torch.stack([torch.stack([c, s, zero]), torch.stack([-s, c, zero]), torch.stack([zero, zero, one])])
