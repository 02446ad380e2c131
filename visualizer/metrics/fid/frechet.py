"""Fréchet distance between two Gaussians, the FID's formula (Heusel et al. 2017, eq. 6; Dowson & Landau 1982).

    d² = |mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1 S2)^½)

tr((S1 S2)^½) is computed as tr((Fᵀ S2 F)^½) for any factor S1 = F Fᵀ: the inner matrix is
symmetric positive semi-definite and has the eigenvalues of S1 S2, so the trace comes from a
symmetric eigendecomposition (float64) and stays accurate when the covariances are ill-conditioned
or rank-deficient (fewer samples than features), where the general square root of the
non-symmetric S1 S2 that scipy's sqrtm takes can lose digits or turn complex. F is the Cholesky
factor when S1 is safely positive definite (about 80x cheaper than an eigendecomposition at
d = 2048), else the symmetric square root.
"""
import numpy as np

from eqviz.errors import EqvizError


def psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a covariance (eigenvalues within rounding of zero become zero)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    values, vectors = np.linalg.eigh((sigma + sigma.T) / 2)
    noise_floor = len(values) * np.finfo(np.float64).eps * max(float(values[-1]), 0.0)
    values = np.where(values > noise_floor, values, 0)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


CHOLESKY_MIN_PIVOT = 1e-10  # smallest squared pivot, relative to the largest variance, for the Cholesky path


def covariance_factor(sigma: np.ndarray) -> np.ndarray:
    """F with F Fᵀ = sigma: Cholesky when every pivot is well above rounding, else psd_sqrt."""
    sigma = np.asarray(sigma, dtype=np.float64)
    try:
        factor = np.linalg.cholesky((sigma + sigma.T) / 2)
    except np.linalg.LinAlgError:
        return psd_sqrt(sigma)
    if np.min(np.diag(factor)) ** 2 <= CHOLESKY_MIN_PIVOT * max(float(np.max(np.diag(sigma))), 0.0):
        return psd_sqrt(sigma)  # (numerically) rank-deficient: its null directions need the eigenvalues
    return factor


def trace_sqrt_product(factor1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((S1 S2)^½) given F with S1 = F Fᵀ: the sum of square roots of the eigenvalues of Fᵀ S2 F."""
    inner = factor1.T @ np.asarray(sigma2, dtype=np.float64) @ factor1
    values = np.linalg.eigvalsh((inner + inner.T) / 2)
    # Eigenvalues within rounding of zero (rank-deficient covariances) are zero: their square roots
    # (~1e-8 of the largest each) would otherwise add up over hundreds of null directions.
    noise_floor = len(values) * np.finfo(np.float64).eps * max(float(values[-1]), 0.0)
    return float(np.sqrt(np.where(values > noise_floor, values, 0)).sum())


def check_statistics(mu: np.ndarray, sigma: np.ndarray, name: str) -> None:
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise EqvizError(f"{name}: mean {mu.shape} and covariance {sigma.shape} do not fit ([d] and [d, d])")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise EqvizError(f"{name}: statistics hold NaN or infinite values; the features they came from are broken")


def frechet_distance(mu1, sigma1, mu2, sigma2, factor1=None) -> float:
    """FID of two feature distributions given their means [d] and covariances [d, d] (float64).

    `factor1` (= covariance_factor(sigma1)) may be passed to reuse it over many sigma2 (bootstrap).
    """
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    check_statistics(mu1, sigma1, "first distribution")
    check_statistics(mu2, sigma2, "second distribution")
    if mu1.shape != mu2.shape:
        raise EqvizError(f"the two distributions have different feature sizes ({mu1.shape[0]} and {mu2.shape[0]})")
    if factor1 is None:
        factor1 = covariance_factor(sigma1)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(factor1, sigma2))
