"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with the cubic polynomial kernel.

    k(x, y) = (x·y / d + 1)³
    MMD²_u = Σ_{i≠j} k(x_i, x_j) / (m(m-1)) + Σ_{i≠j} k(y_i, y_j) / (m(m-1)) - 2 Σ_{i,j} k(x_i, y_j) / m²

averaged over random subsets of m features from each side, as NVIDIA's `kid50k_full` (100 subsets
of 1000) and torch-fidelity define it. Subsets are drawn like torch-fidelity's: one
numpy RandomState(seed), per subset first the indices into f1 then into f2, without replacement.
The spread of the subset values (their standard deviation) is the stated uncertainty.
"""
from dataclasses import dataclass

import numpy as np

from eqviz.errors import EqvizError


@dataclass(frozen=True)
class KernelInceptionDistance:
    mean: float        # the KID
    std: float         # standard deviation over subsets (numpy's, ddof 0, as torch-fidelity reports)
    num_subsets: int
    subset_size: int


def polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² of two equal-size feature sets [m, d] with the kernel (x·y / d + 1)³."""
    m, d = x.shape
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(f1, f2, num_subsets: int = 100, subset_size: int = 1000, seed: int = 123) -> KernelInceptionDistance:
    """KID between features f1 [n1, d] and f2 [n2, d] (float64), with its subset spread.

    Args:
        f1, f2: feature sets (e.g. Inception pool3 of real and generated images).
        num_subsets: subsets averaged (NVIDIA: 100).
        subset_size: features per subset from each side (NVIDIA: min(1000, n1, n2); at least 2).
        seed: seed of the numpy RandomState the subsets are drawn from.
    """
    f1, f2 = np.asarray(f1, dtype=np.float64), np.asarray(f2, dtype=np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise EqvizError(f"KID wants two feature sets [n, d] of the same d, got {f1.shape} and {f2.shape}")
    if num_subsets < 1 or subset_size < 2:
        raise EqvizError(f"KID needs at least 1 subset of at least 2 features, got {num_subsets} of {subset_size}")
    if min(len(f1), len(f2)) < subset_size:
        raise EqvizError(f"KID subsets of {subset_size} need that many features on each side, got {len(f1)} and "
                         f"{len(f2)}; use a smaller subset size or more samples")
    rng = np.random.RandomState(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        x = f1[rng.choice(len(f1), subset_size, replace=False)]
        y = f2[rng.choice(len(f2), subset_size, replace=False)]
        values[i] = polynomial_mmd2_unbiased(x, y)
    return KernelInceptionDistance(float(values.mean()), float(values.std()), num_subsets, subset_size)
