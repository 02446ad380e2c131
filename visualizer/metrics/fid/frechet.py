"""Fréchet distance between two Gaussians, the FID's formula (Heusel et al. 2017, eq. 6; Dowson & Landau 1982).

    d² = |mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1 S2)^½)

tr((S1 S2)^½) is computed as tr((Fᵀ S2 F)^½) for a factor S1 = F Fᵀ: the inner matrix is symmetric
positive semi-definite and has the nonzero eigenvalues of S1 S2, so the trace comes from a symmetric
eigendecomposition (float64) and stays accurate when the covariances are ill-conditioned or
rank-deficient (fewer samples than features), where the general square root of the non-symmetric
S1 S2 that scipy's sqrtm takes can lose digits or turn complex. F comes from LAPACK's pivoted
Cholesky (dpstrf), which stops at the numerical rank r: F is [d, r], so a reference of few samples
costs an r x r problem, and a full-rank one a Cholesky instead of an eigendecomposition.
"""
import numpy as np
from scipy.linalg import lapack

from eqviz.errors import EqvizError


def covariance_factor(sigma: np.ndarray) -> np.ndarray:
    """F [d, r] with F Fᵀ = sigma, r its numerical rank (pivoted Cholesky, LAPACK's default tolerance
    d · unit roundoff · the largest variance)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or not np.isfinite(sigma).all():
        raise EqvizError(f"a covariance must be a finite [d, d] matrix, got shape {sigma.shape}; the features behind it are broken")
    upper, pivots, rank, info = lapack.dpstrf((sigma + sigma.T) / 2, lower=0)
    factor = np.zeros((sigma.shape[0], rank))
    factor[pivots - 1] = np.triu(upper)[:rank].T  # P Uᵀ: undo the pivoting (pivots are 1-based)
    return factor


def trace_sqrt_product(factor1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((S1 S2)^½) given F with S1 = F Fᵀ: the sum of square roots of the eigenvalues of Fᵀ S2 F."""
    inner = factor1.T @ np.asarray(sigma2, dtype=np.float64) @ factor1
    if inner.size == 0:  # S1 = 0: every image the same
        return 0.0
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
