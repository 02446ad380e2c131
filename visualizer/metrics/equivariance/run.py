"""compute_equivariance: EQ-T, EQ-T(frac) and EQ-R of a generator over many samples.

Follows NVIDIA's metrics/equivariance.py (Karras et al. 2021, sec. 3 and app. E) with one change that
makes results reproducible: every sample draws its latent, class, translations and angle from its own
random generator, seeded by (seed, sample index). The same seed therefore gives the same samples on
any batch size and any number of processes, and samples are split over processes by index.
"""
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from eqviz.core.image_quality import psnr_db
from eqviz.devices import module_on
from eqviz.core.seeds import MAX_SEED
from eqviz.errors import Cancelled, InvalidArgument
from eqviz.metrics.equivariance.measure import equivariance_errors, require_input_transform
from eqviz.metrics.names import EQ_METRICS as METRICS
from eqviz.metrics.processes import full_float32, rank_and_world_size, sum_over_processes

BOOTSTRAP_SEED = 20210623  # fixed, so the interval of a result is reproducible too
BOOTSTRAP_RESAMPLES = 1000


# ---- Per-sample random draws ------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleDraw:
    z: np.ndarray  # [z_dim] float32, N(0, I)
    class_idx: int  # uniform over classes, -1 for unconditional generators
    t_int: tuple  # (tx, ty) uniform in [-translate_max, translate_max]^2 (rounded to pixels later)
    t_frac: tuple  # (tx, ty) uniform in [-translate_max, translate_max]^2
    angle: float  # radians, uniform in [-rotate_max * pi, rotate_max * pi]


def draw_sample(seed: int, index: int, z_dim: int, c_dim: int, translate_max: float, rotate_max: float) -> SampleDraw:
    """Sample `index`'s draws from numpy's default_rng([seed, index]); all drawn whatever the metrics."""
    rng = np.random.default_rng([seed, index])
    z = rng.standard_normal(z_dim).astype(np.float32)
    u = rng.random(5) * 2 - 1
    class_idx = int(rng.integers(c_dim)) if c_dim > 0 else -1
    return SampleDraw(
        z=z,
        class_idx=class_idx,
        t_int=(u[0] * translate_max, u[1] * translate_max),
        t_frac=(u[2] * translate_max, u[3] * translate_max),
        angle=u[4] * rotate_max * math.pi,
    )


# ---- Result -----------------------------------------------------------------------------------------
@dataclass
class EquivarianceResult:
    """PSNRs in dB (peak 2, pooled over samples) with 95% bootstrap intervals and per-sample values."""

    psnr_db: dict  # metric -> pooled PSNR
    interval_db: dict  # metric -> (low, high): 2.5 / 97.5 percentiles of the bootstrap
    per_sample_psnr_db: dict  # metric -> [num_samples_done] in sample-index order
    sq_err_sum: dict  # metric -> pooled float64 sum of squared errors
    mask_sum: dict  # metric -> pooled float64 sum of the masks
    per_sample_sq_err: dict  # metric -> [num_samples_done] float64
    per_sample_mask: dict  # metric -> [num_samples_done] float64
    mean_error_maps: dict  # metric -> [H, W]: squared error per pixel (`squared_error_map`), averaged
    #                        over the samples in which that pixel is compared (0 where it never is)
    sample_indices: np.ndarray  # the indices of the samples done, ascending
    settings: dict
    elapsed_s: float
    complete: bool = True

    def to_json(self) -> dict:
        """Settings and results as JSON-safe data (infinite per-sample PSNRs become null)."""

        def finite_or_none(v):
            return float(v) if np.isfinite(v) else None

        return {
            "settings": self.settings,
            "complete": self.complete,
            "num_samples_done": int(len(self.sample_indices)),
            "elapsed_s": self.elapsed_s,
            "results": {
                m: {
                    "psnr_db": finite_or_none(self.psnr_db[m]),
                    "interval_95_db": [finite_or_none(v) for v in self.interval_db[m]],
                    "sq_err_sum": self.sq_err_sum[m],
                    "mask_sum": self.mask_sum[m],
                    "per_sample_psnr_db": [finite_or_none(v) for v in self.per_sample_psnr_db[m]],
                }
                for m in self.psnr_db
            },
        }


def bootstrap_interval(sq_err: np.ndarray, mask: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """[M, 2] 95% interval of the pooled PSNR: resample samples with replacement (rows of [n, M])."""
    n = sq_err.shape[0]
    rng = np.random.default_rng(seed)
    psnrs = np.empty((resamples, sq_err.shape[1]))
    chunk = max(1, 2_000_000 // max(n, 1))  # bounds the [chunk, n, M] gather
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        psnrs[start:stop] = psnr_db(sq_err[idx].sum(axis=1), mask[idx].sum(axis=1))
    return np.percentile(psnrs, [2.5, 97.5], axis=0).T


# ---- The metric -------------------------------------------------------------------------------------
def compute_equivariance(
    G,
    metrics=METRICS,  # subset of ('eqt_int', 'eqt_frac', 'eqr')
    num_samples: int = 1000,  # 50000 is the paper's protocol
    batch_size: int = 8,  # samples per synthesis call; does not change the samples drawn
    seed: int = 0,  # sample i draws from default_rng([seed, i])
    translate_max: float = 0.125,  # translations uniform in [-max, max]^2, image-size units
    rotate_max: float = 1.0,  # angles uniform in [-max * pi, max * pi]
    device=None,  # where to compute; default: where G is (a copy of G goes there if it is elsewhere)
    progress=None,  # callback(done, total) after every batch (this process's samples)
    cancel=None,  # callable polled between batches; once it returns True, stops with `Cancelled`
    bootstrap_resamples: int = BOOTSTRAP_RESAMPLES,
) -> EquivarianceResult:
    """Pooled PSNRs of the requested metrics, like NVIDIA's eqt50k_int / eqt50k_frac / eqr50k.

    Each sample: ws = mapping(z, c) (psi 1), a reference image with the identity input transform,
    then one image per metric with the transformed input, compared as in `equivariance_errors`.
    The 95% interval is a percentile bootstrap over samples of the pooled error ratio, with the
    fixed seed BOOTSTRAP_SEED. Under torch.distributed (e.g. torchrun) every process takes the
    sample indices rank, rank + world_size, ...; sums and per-sample values are all-reduced and
    every process returns the same result.

    G is only read (every image passes its own input transform), so the app's generator can be
    measured while it renders. Cancellation raises `Cancelled`, whose `partial` is the result over
    the samples done (None if none) and `done` their number.
    """
    require_input_transform(G)
    metrics = checked_metrics(metrics, num_samples, batch_size, seed, translate_max, rotate_max)
    start_time = time.perf_counter()
    device = torch.device(device) if device is not None else next(G.parameters()).device
    G = module_on(G, device)
    rank, world_size = rank_and_world_size()
    mine = range(rank, num_samples, world_size)  # this process's samples, never expanded

    sums = ErrorSums(num_samples, metrics, G.img_resolution)
    cancelled = False
    with torch.no_grad(), full_float32():
        for first in range(0, len(mine), batch_size):
            if cancel is not None and cancel():
                cancelled = True
                break
            batch = list(mine[first : first + batch_size])
            draws = [draw_sample(seed, i, G.z_dim, G.c_dim, translate_max, rotate_max) for i in batch]
            sums.add(batch, measure_batch(G, draws, metrics, device))
            if progress is not None:
                progress(first + len(batch), len(mine))

    if world_size > 1:
        sums.sum_over_processes(device)
    result = sums.summarise(bootstrap_resamples)
    result.settings = run_settings(metrics, num_samples, batch_size, seed, translate_max, rotate_max, device,
                                   world_size, bootstrap_resamples)
    result.elapsed_s = time.perf_counter() - start_time
    if cancelled or len(result.sample_indices) < num_samples:
        result.complete = False
        n_done = len(result.sample_indices)
        raise Cancelled(f"equivariance cancelled at {n_done} of {num_samples} samples",
                        done=n_done, total=num_samples, partial=result if n_done else None)
    return result


# ---- Its steps --------------------------------------------------------------------------------------
def checked_metrics(metrics, num_samples: int, batch_size: int, seed: int, translate_max: float = 0.125,
                    rotate_max: float = 1.0) -> tuple:
    """The requested metrics as a tuple, after refusing arguments no run can take."""
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics or unknown:
        raise InvalidArgument(f"unknown equivariance metrics {unknown or metrics!r}; choose from {', '.join(METRICS)}",
                              "metrics")
    for name, value in (("num_samples", num_samples), ("batch_size", batch_size)):
        if value < 1:
            raise InvalidArgument(f"{name} must be at least 1, got {value}", name)
    if not 0 <= seed <= MAX_SEED:
        raise InvalidArgument(f"seed must be from 0 to {MAX_SEED}, got {seed}", "seed")
    # Image widths (beyond 1 the image leaves the frame) and half turns (1: any angle); NaN fails both.
    for name, value, unit in (("translate_max", translate_max, "image widths"), ("rotate_max", rotate_max, "half turns")):
        if not 0 <= value <= 1:
            raise InvalidArgument(f"{name} is in {unit}, from 0 to 1, got {value}", name)
    return metrics


def measure_batch(G, draws, metrics, device) -> dict:
    """The errors of the requested metrics for a batch of drawn samples (latent, class, transforms)."""
    z = torch.from_numpy(np.stack([d.z for d in draws])).to(device)
    c = torch.zeros(len(draws), G.c_dim, device=device)
    for row, d in enumerate(draws):
        if d.class_idx >= 0:
            c[row, d.class_idx] = 1
    return equivariance_errors(
        G,
        G.mapping(z, c),
        t_int=[d.t_int for d in draws] if "eqt_int" in metrics else None,
        t_frac=[d.t_frac for d in draws] if "eqt_frac" in metrics else None,
        angle=[d.angle for d in draws] if "eqr" in metrics else None,
    )


class ErrorSums:
    """Per-sample squared-error and mask sums and per-pixel map sums of a run, float64, indexed by sample
    so that processes can add theirs together."""

    def __init__(self, num_samples: int, metrics: tuple, resolution: int):
        self.metrics = metrics
        self.sq_err = torch.zeros(num_samples, len(metrics), dtype=torch.float64)
        self.mask = torch.zeros(num_samples, len(metrics), dtype=torch.float64)
        self.done = torch.zeros(num_samples, dtype=torch.float64)
        self.err_map = torch.zeros(len(metrics), resolution, resolution, dtype=torch.float64)
        self.mask_map = torch.zeros(len(metrics), resolution, resolution, dtype=torch.float64)

    def add(self, batch: list, errors: dict) -> None:
        for j, m in enumerate(self.metrics):
            self.sq_err[batch, j] = torch.from_numpy(errors[m].sq_err_per_sample)
            self.mask[batch, j] = torch.from_numpy(errors[m].mask_per_sample)
            self.err_map[j] += errors[m].error_map.to(torch.float64).sum(dim=0).cpu()
            self.mask_map[j] += errors[m].mask_map.to(torch.float64).sum(dim=0).cpu()
        self.done[batch] = 1

    def sum_over_processes(self, device) -> None:
        self.sq_err, self.mask, self.done, self.err_map, self.mask_map = sum_over_processes(
            [self.sq_err, self.mask, self.done, self.err_map, self.mask_map], device
        )

    def summarise(self, bootstrap_resamples: int) -> EquivarianceResult:
        return _summarise(self.metrics, self.sq_err.numpy(), self.mask.numpy(), np.flatnonzero(self.done.numpy()),
                          (self.err_map / self.mask_map.clamp(min=1)).numpy(), bootstrap_resamples)


def run_settings(metrics, num_samples, batch_size, seed, translate_max, rotate_max, device, world_size,
                 bootstrap_resamples) -> dict:
    """How a run was measured, as its JSON records it."""
    return {
        "metrics": list(metrics),
        "num_samples": num_samples,
        "batch_size": batch_size,
        "seed": seed,
        "translate_max": translate_max,
        "rotate_max": rotate_max,
        "device": str(device),
        "processes": world_size,
        "sampling": "sample i: numpy default_rng([seed, i]) draws z ~ N(0, I), then 5 uniforms "
        "(t_int x/y, t_frac x/y, angle), then the class; truncation_psi 1, noise_mode const",
        "psnr": "20 log10(2) - 10 log10(sum sq err / sum mask), pooled over samples",
        "interval": f"95% percentile bootstrap over samples, {bootstrap_resamples} resamples, seed {BOOTSTRAP_SEED}",
    }


def _summarise(metrics, sq_err, mask, indices, mean_error_maps, bootstrap_resamples) -> EquivarianceResult:
    sq_err, mask = sq_err[indices], mask[indices]
    sq_sum, mask_sum = sq_err.sum(axis=0), mask.sum(axis=0)
    pooled = psnr_db(sq_sum, mask_sum)
    intervals = bootstrap_interval(sq_err, mask, bootstrap_resamples) if len(indices) else np.full((len(metrics), 2), np.nan)
    per_sample = psnr_db(sq_err, mask)
    return EquivarianceResult(
        psnr_db={m: float(pooled[j]) for j, m in enumerate(metrics)},
        interval_db={m: (float(intervals[j, 0]), float(intervals[j, 1])) for j, m in enumerate(metrics)},
        per_sample_psnr_db={m: per_sample[:, j] for j, m in enumerate(metrics)},
        sq_err_sum={m: float(sq_sum[j]) for j, m in enumerate(metrics)},
        mask_sum={m: float(mask_sum[j]) for j, m in enumerate(metrics)},
        per_sample_sq_err={m: sq_err[:, j] for j, m in enumerate(metrics)},
        per_sample_mask={m: mask[:, j] for j, m in enumerate(metrics)},
        mean_error_maps={m: mean_error_maps[j] for j, m in enumerate(metrics)},
        sample_indices=indices,
        settings={},
        elapsed_s=0.0,
    )
