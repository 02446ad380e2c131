"""Streamed feature statistics: sums of x and x xᵀ in float64, so memory stays flat in the sample count.

The uncertainty of an FID comes from a Poisson bootstrap over the samples of one side: sample i
enters replicate b with weight w_ib ~ Poisson(1), drawn from its own generator (seed, i), and each
replicate keeps its own weighted sums. The replicates are therefore the same for any batch size
and any split over processes, and cost B [d, d] sums instead of storing every feature.
"""
import numpy as np
import torch

from eqviz.metrics.processes import sum_over_processes

BOOTSTRAP_SEED = 20211018


class FeatureStatistics:
    """Mean and covariance of features added batch by batch, optionally with bootstrap replicates
    and (for KID) the features themselves."""

    def __init__(self, dim: int, bootstrap_replicates: int = 0, keep_features_of: int = 0, device="cpu"):
        # The sums live where the features are made: on a GPU the float64 x xᵀ updates would
        # otherwise cost the CPU more than the Inception costs the GPU.
        f64 = dict(dtype=torch.float64, device=device)
        self.dim = dim
        self.count = torch.zeros((), **f64)
        self.sum = torch.zeros(dim, **f64)
        self.sum_outer = torch.zeros(dim, dim, **f64)
        self.replicates = bootstrap_replicates
        self.rep_count = torch.zeros(bootstrap_replicates, **f64)
        self.rep_sum = torch.zeros(bootstrap_replicates, dim, **f64)
        self.rep_outer = torch.zeros(bootstrap_replicates, dim, dim, **f64)
        # KID keeps float32 features of samples 0 .. keep_features_of - 1 at their sample index.
        self.features = torch.zeros(keep_features_of, dim, dtype=torch.float32) if keep_features_of else None

    def add(self, features: torch.Tensor, indices) -> None:
        """features [n, dim] (any float dtype) of the samples with these global indices."""
        x = features.detach().to(self.sum.device, torch.float64)
        self.count += x.shape[0]
        self.sum += x.sum(dim=0)
        self.sum_outer += x.T @ x
        if self.replicates:
            w = torch.from_numpy(np.stack([
                np.random.default_rng([BOOTSTRAP_SEED, int(i)]).poisson(1.0, self.replicates) for i in indices
            ]).astype(np.float64)).to(x.device)                                  # [n, B]
            self.rep_count += w.sum(dim=0)
            self.rep_sum += w.T @ x
            self.rep_outer += torch.einsum("nb,ni,nj->bij", w, x, x)
        if self.features is not None:
            self.features[torch.as_tensor(list(indices), dtype=torch.long)] = x.float().cpu()

    def all_reduce(self, device) -> None:
        """Sum every accumulator over torch.distributed processes (each added its own samples)."""
        names = ["count", "sum", "sum_outer", "rep_count", "rep_sum", "rep_outer"] + (["features"] if self.features is not None else [])
        for name, value in zip(names, sum_over_processes([getattr(self, n) for n in names], device)):
            setattr(self, name, value)

    @staticmethod
    def mean_and_covariance(count, total, outer) -> tuple:
        mu = total / count
        sigma = (outer - count * torch.outer(mu, mu)) / (count - 1)  # unbiased, as np.cov
        return mu.cpu().numpy(), sigma.cpu().numpy()

    def mean_covariance(self) -> tuple:
        """(mu [d], sigma [d, d]) as float64 numpy arrays."""
        return self.mean_and_covariance(self.count, self.sum, self.sum_outer)

    def replicate_mean_covariance(self, b: int) -> tuple:
        return self.mean_and_covariance(self.rep_count[b], self.rep_sum[b], self.rep_outer[b])

