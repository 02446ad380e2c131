"""The errors of one batch for EQ-T, EQ-T frac and EQ-R (Karras et al. 2021, app. E).

The image operators the metrics compare against live in `eqviz.core.resampling` (the app and videos
use them too); the PSNR in `eqviz.core.image_quality`.
"""
from dataclasses import dataclass

import numpy as np
import torch

from eqviz.core.image_quality import psnr_db, squared_error_map
from eqviz.core.input_transform import supports_input_transform, synthesize
from eqviz.core.resampling import (
    apply_fractional_pseudo_rotation,
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
)
from eqviz.errors import EqvizError
from eqviz.networks.filter_design import rotation_matrix



class EquivarianceUndefinedError(EqvizError):
    """The generator has no input transform, so there is nothing to translate or rotate."""


def require_input_transform(G) -> None:
    if not supports_input_transform(G):
        raise EquivarianceUndefinedError(
            "EQ metrics are not defined for StyleGAN2 (no input transform); use a StyleGAN3 checkpoint"
        )


# ---- Errors of one batch ----------------------------------------------------------------------------
@dataclass
class EquivarianceErrors:
    """One metric's squared errors for a batch; sums are float64 like NVIDIA accumulates them."""

    sq_err_sum: float  # sum over the batch of (ref - img)^2 * mask, all channels
    mask_sum: float  # sum over the batch of the mask, all channels
    sq_err_per_sample: np.ndarray  # [N] float64
    mask_per_sample: np.ndarray  # [N] float64
    error_map: torch.Tensor  # [N, H, W] squared error per pixel (`squared_error_map`), zero outside the mask
    mask_map: torch.Tensor  # [N, H, W] 1 where the pixel is compared

    @property
    def psnr_db(self) -> float:
        return float(psnr_db(self.sq_err_sum, self.mask_sum))

    @property
    def per_sample_psnr_db(self) -> np.ndarray:
        return psnr_db(self.sq_err_per_sample, self.mask_per_sample)


def _errors(ref: torch.Tensor, img: torch.Tensor, mask: torch.Tensor) -> EquivarianceErrors:
    err = (ref - img).square() * mask
    return EquivarianceErrors(
        sq_err_sum=float(err.to(torch.float64).sum()),
        mask_sum=float(mask.to(torch.float64).sum()),
        sq_err_per_sample=err.to(torch.float64).sum(dim=(1, 2, 3)).cpu().numpy(),
        mask_per_sample=mask.to(torch.float64).sum(dim=(1, 2, 3)).cpu().numpy(),
        error_map=squared_error_map(img, ref, mask),
        mask_map=mask[:, 0],
    )


def _per_sample(values, n: int, width: int) -> torch.Tensor:
    """One row of parameters per sample: a single value is shared by the whole batch."""
    v = torch.as_tensor(values, dtype=torch.float32).cpu().reshape(-1, width)
    if v.shape[0] not in (1, n):
        raise ValueError(f"need one set of {width} values or one per sample ({n}), got {tuple(v.shape)}")
    return v.expand(n, width)


def _per_sample_op(op, x: torch.Tensor, params: torch.Tensor):
    """Applies op(x_i, *params_i) per sample, or once when the batch shares its parameters."""
    if bool((params == params[:1]).all()):
        return op(x, *params[0])
    outs = [op(x[i : i + 1], *params[i]) for i in range(x.shape[0])]
    return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])


@torch.no_grad()
def equivariance_errors(G, ws: torch.Tensor, t_int=None, t_frac=None, angle=None, noise_mode: str = "const"):
    """Squared errors of EQ-T (whole pixels), EQ-T (fractional) and EQ-R for a batch of ws.

    Args:
        G:          StyleGAN3 generator; its input transform buffer is not used (nor changed).
        ws:         [N, num_ws, w_dim] mapped latents (the reference image uses the identity transform).
        t_int:      (tx, ty) or [N, 2] translation in image-size units, rounded to whole pixels; or None.
        t_frac:     (tx, ty) or [N, 2] translation in image-size units; or None.
        angle:      rotation in radians, scalar or [N]; or None.
        noise_mode: passed to the synthesis network.
    Returns {'eqt_int' | 'eqt_frac' | 'eqr': EquivarianceErrors} for the metrics requested.
    """
    require_input_transform(G)
    n = ws.shape[0]
    eye = torch.eye(3)
    results = {}
    orig = synthesize(G, ws, eye.repeat(n, 1, 1), noise_mode)

    def translation_errors(t, shift):
        transforms = eye.repeat(n, 1, 1)
        transforms[:, :2, 2] = -t
        img = synthesize(G, ws, transforms, noise_mode)
        ref, mask = _per_sample_op(shift, orig, t)
        return _errors(ref, img, mask)

    if t_int is not None:
        t = _per_sample(t_int, n, 2)
        results["eqt_int"] = translation_errors((t * G.img_resolution).round() / G.img_resolution,
                                                apply_integer_translation)
    if t_frac is not None:
        results["eqt_frac"] = translation_errors(_per_sample(t_frac, n, 2), apply_fractional_translation)
    if angle is not None:
        angles = _per_sample(angle, n, 1)
        transforms = torch.stack([rotation_matrix(-a) for a in angles[:, 0]])
        img = synthesize(G, ws, transforms, noise_mode)
        ref, ref_mask = _per_sample_op(apply_fractional_rotation, orig, angles)
        pseudo, pseudo_mask = _per_sample_op(apply_fractional_pseudo_rotation, img, angles)
        results["eqr"] = _errors(ref, pseudo, ref_mask * pseudo_mask)
    return results
