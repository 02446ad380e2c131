"""Equivariance of StyleGAN3 generators, as the Alias-Free GAN paper measures it.

`measure` holds the per-batch errors; `run` the sampled, bootstrapped run. The paper's image
operators live in `eqviz.core.resampling` and the PSNR in `eqviz.core.image_quality` (the app and the
videos use them too); they are re-exported here under the names the paper's metrics use.
"""
from eqviz.core.image_quality import psnr_db
from eqviz.core.resampling import (
    apply_affine_transformation,
    apply_fractional_pseudo_rotation,
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
)
from eqviz.metrics.equivariance.measure import EquivarianceErrors, EquivarianceUndefinedError, equivariance_errors
from eqviz.metrics.equivariance.run import EquivarianceResult, compute_equivariance
from eqviz.metrics.names import EQ_METRICS as METRICS

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
