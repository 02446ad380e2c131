"""Equivariance of StyleGAN3 generators, as the Alias-Free GAN paper measures it.

`measure` holds the image transforms and the per-batch errors; `run` the sampled, bootstrapped run.
"""
from eqviz.metrics.equivariance.measure import (
    METRICS,
    EquivarianceErrors,
    EquivarianceUndefinedError,
    apply_affine_transformation,
    apply_fractional_pseudo_rotation,
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
    equivariance_errors,
    psnr_db,
)
from eqviz.metrics.equivariance.run import EquivarianceResult, compute_equivariance

__all__ = [
    "METRICS",
    "EquivarianceErrors",
    "EquivarianceResult",
    "EquivarianceUndefinedError",
    "apply_affine_transformation",
    "apply_fractional_pseudo_rotation",
    "apply_fractional_rotation",
    "apply_fractional_translation",
    "apply_integer_translation",
    "compute_equivariance",
    "equivariance_errors",
    "psnr_db",
]
