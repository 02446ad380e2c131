"""Mean and covariance of W = mapping(z) over many seeded samples, streamed in batches.

Only running sums of w and w wᵀ are kept (float64, [w_dim] and [w_dim, w_dim]), so a million
samples cost no more memory than one batch; the sums are taken about the first batch's mean so the
covariance keeps its digits when W sits far from the origin.
"""
from typing import Callable

import numpy as np
import torch

from eqviz.errors import InvalidArgument, stop_if_cancelled

SAMPLE_BATCH = 1024  # z per mapping call: large enough to keep the cores busy, small beside num_ws copies


@torch.no_grad()
def mapped_w_batches(G, num_samples: int, seed: int = 0, batch: int = SAMPLE_BATCH):
    """Yields w [B, w_dim] float32 for `num_samples` z ~ N(0, I) (numpy Generator(seed), drawn in order,
    so the samples do not depend on `batch`) and, for conditional models, uniformly drawn classes."""
    if num_samples < 2:
        raise InvalidArgument(f"W statistics need at least 2 samples, got {num_samples}", "num_samples")
    device = next(G.mapping.parameters()).device
    z_rng, c_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    for start in range(0, num_samples, batch):
        n = min(batch, num_samples - start)
        z = torch.from_numpy(z_rng.standard_normal((n, G.z_dim))).to(device)
        c = torch.zeros([n, G.c_dim], device=device)
        if G.c_dim:
            c[torch.arange(n), torch.from_numpy(c_rng.integers(G.c_dim, size=n)).to(device)] = 1
        yield G.mapping(z, c)[:, 0]


class WMoments:
    """Running count, sum and sum of outer products of w (float64, about a fixed shift)."""

    def __init__(self):
        self.count = 0
        self.shift = self.sum = self.outer = None

    def add(self, w: torch.Tensor) -> None:  # w [B, w_dim]
        x = w.to(torch.float64)
        if self.shift is None:
            self.shift = x.mean(dim=0)
            self.sum = torch.zeros_like(self.shift)
            self.outer = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64, device=x.device)
        x = x - self.shift
        self.count += x.shape[0]
        self.sum += x.sum(dim=0)
        self.outer += x.T @ x

    @property
    def mean(self) -> np.ndarray:
        return (self.shift + self.sum / self.count).cpu().numpy()

    @property
    def covariance(self) -> np.ndarray:
        """Unbiased sample covariance [w_dim, w_dim]."""
        centred = self.outer - torch.outer(self.sum, self.sum) / self.count
        return (centred / (self.count - 1)).cpu().numpy()


def w_moments(G, num_samples: int, seed: int = 0, batch: int = SAMPLE_BATCH,
              progress: Callable[[int, int], None] | None = None,
              cancel: Callable[[], bool] | None = None) -> WMoments:
    """Streams `num_samples` mapped samples into WMoments; progress(done, total) after each batch,
    `cancel()` polled between batches (raises eqviz.errors.Cancelled)."""
    moments = WMoments()
    for w in mapped_w_batches(G, num_samples, seed, batch):
        stop_if_cancelled(cancel, "W sampling", moments.count, num_samples)
        moments.add(w)
        if progress is not None:
            progress(moments.count, num_samples)
    return moments


def sigmas_along(covariance: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Standard deviation of W along each unit row of `directions` [K, w_dim]: sqrt(d C dᵀ)."""
    d = np.asarray(directions, dtype=np.float64)
    return np.sqrt(np.maximum(np.einsum("kd,de,ke->k", d, covariance, d), 0.0))
