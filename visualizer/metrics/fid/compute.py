"""compute_fid_kid: FID and KID between two image sources, batched, streamed, under torchrun too.

NVIDIA's `fid50k_full` / `kid50k_full`: 50,000 generated images against every real image; smaller
sample counts are spot checks and are labelled with their count (fid1k_full, ...). The FID's
uncertainty is a Poisson bootstrap over the generated side (see statistics.py); the KID's is the
spread of its subsets. Real-data statistics are cached on disk (cache.py).
"""
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from eqviz.errors import InvalidArgument
from eqviz.cache import file_digest
from eqviz.metrics.fid import cache
from eqviz.metrics.fid.frechet import covariance_factor, frechet_distance
from eqviz.metrics.fid.inception import FEATURE_DIM, InceptionV3FID, load_inception
from eqviz.metrics.fid.kid import kernel_inception_distance
from eqviz.metrics.fid.sources import GeneratorSamples, ImageData, format_count, open_source
from eqviz.metrics.fid.statistics import FeatureStatistics
from eqviz.metrics.names import DATA_METRICS as METRICS
from eqviz.metrics.processes import full_float32, rank_and_world_size
from eqviz.progress import UnitCount

PROTOCOL_NUM_SAMPLES = {"fid50k_full": 50000, "kid50k_full": 50000}  # NVIDIA's names -> generated images
BOOTSTRAP_REPLICATES = 10
KID_SUBSETS, KID_SUBSET_SIZE, KID_SEED = 100, 1000, 123  # NVIDIA's kid50k_full: 100 subsets of 1000


@dataclass
class FidKidResult:
    """FID / KID with their uncertainty, the images used on each side, and how they were measured."""

    fid: float | None = None
    fid_std: float | None = None            # standard deviation of the bootstrap replicates
    fid_interval95: tuple | None = None     # FID -/+ 1.96 x fid_std: the sampling spread around the estimate
    fid_bootstrap_bias: float | None = None  # mean replicate minus the FID (a resample repeats images: FID rises)
    kid: float | None = None
    kid_std: float | None = None            # standard deviation over KID subsets; None when every subset is
                                            # all of both sides (nothing varies between them)
    protocol: dict = field(default_factory=dict)   # metric -> NVIDIA-style name with the sample count
    sources: dict = field(default_factory=dict)    # 'a' / 'b' -> description, images used, cached or not
    settings: dict = field(default_factory=dict)
    elapsed_s: float = 0.0

    def summary(self) -> str:
        """A few lines for a terminal or a panel: values, uncertainty, images per side, time."""
        lines = []
        if self.fid is not None:
            spread = ""
            if self.fid_std is not None:
                lo, hi = self.fid_interval95
                spread = f" ± {self.fid_std:.4f} (bootstrap std; 95% interval ±1.96 std: [{lo:.4f}, {hi:.4f}])"
            lines.append(f"FID {self.protocol['fid']}: {self.fid:.4f}{spread}")
        if self.kid is not None:
            if self.kid_std is None:
                spread = " (every subset holds all the images, so there is no spread to report; use more images)"
            else:
                spread = f" ± {self.kid_std:.3g} (std over subsets)"
            lines.append(f"KID {self.protocol['kid']}: {self.kid:.6g}{spread}")
        for side in ("a", "b"):
            s = self.sources[side]
            lines.append(f"  {side}: {s['source']}, {s['images']} images{' (cached statistics)' if s['cached'] else ''}")
        lines.append(f"  {self.settings['pipeline']} pipeline, {self.elapsed_s:.1f} s")
        return "\n".join(lines)

    def to_json(self) -> dict:
        out = {"protocol": self.protocol, "sources": self.sources, "settings": self.settings, "elapsed_s": self.elapsed_s}
        if self.fid is not None:
            out["fid"] = {"value": self.fid, "bootstrap_std": self.fid_std,
                          "interval_95": list(self.fid_interval95) if self.fid_interval95 else None,
                          "bootstrap_bias": self.fid_bootstrap_bias}
        if self.kid is not None:
            out["kid"] = {"value": self.kid, "subset_std": self.kid_std}
        return out


def resolve_num_samples(num_samples) -> int:
    """An int, or an NVIDIA protocol name ('fid50k_full') -> generated images."""
    if isinstance(num_samples, str):
        if num_samples not in PROTOCOL_NUM_SAMPLES:
            raise InvalidArgument(f"unknown protocol {num_samples!r}; use {', '.join(PROTOCOL_NUM_SAMPLES)} or a "
                                  f"number of samples", argument="num_samples")
        return PROTOCOL_NUM_SAMPLES[num_samples]
    if int(num_samples) < 2:
        raise InvalidArgument(f"num_samples must be at least 2, got {num_samples}", argument="num_samples")
    return int(num_samples)


def match_resolutions(generated: GeneratorSamples, data: ImageData, resize_data: bool) -> None:
    """NVIDIA resizes nothing: a dataset at another resolution is refused unless resizing was asked for."""
    if data.native_resolution == generated.resolution:
        return
    if not resize_data:
        (h, w), (gh, gw) = data.native_resolution, generated.resolution
        raise InvalidArgument(f"{data.path} holds {w}x{h} images but {generated.name} makes {gw}x{gh}; NVIDIA's "
                              f"protocol resizes nothing, so use data at the generator's resolution or ask for "
                              f"resizing the real images (Lanczos)", argument="resize_data")
    data.resize_to = generated.resolution


def accumulate(source, count: int, stats: FeatureStatistics, inception, batch_size: int, device,
               advance, cancel) -> None:
    """Features of samples 0 .. count-1 of `source` into `stats`; this process takes every world_size-th."""
    rank, world_size = rank_and_world_size()
    mine = range(rank, count, world_size)
    for first in range(0, len(mine), batch_size):
        indices = list(mine[first : first + batch_size])
        images = source.images(indices, device)
        stats.add(inception(images.to(device)), indices)
        advance(len(indices))
    if world_size > 1:
        stats.all_reduce(device)


def image_counts(sides: dict, n_gen: int, num_real: int | None) -> dict:
    """Images used per side: n_gen generated; num_real real ones, or all of them (None)."""
    counts = {}
    for name, s in sides.items():
        if isinstance(s, GeneratorSamples):
            counts[name] = n_gen
        elif num_real is None:
            counts[name] = len(s)
        elif num_real > len(s):
            raise InvalidArgument(f"{num_real} real images were asked for but {s.path} holds {len(s)}; ask for at "
                                  f"most {len(s)} or use all (the _full protocol)", argument="num_real")
        else:
            counts[name] = num_real
    if min(counts.values()) < 2:
        raise InvalidArgument(f"FID needs at least 2 images per side, got {counts}", argument="num_real")
    return counts


def side_statistics(source, count: int, replicates: int, keep_features: bool, inception, weights_digest: str,
                    use_cache: bool, batch_size: int, device, advance, cancel) -> tuple[FeatureStatistics, bool]:
    """(feature statistics of one side, whether they came from the cache): real images' statistics are
    cached by content, weights, pipeline and count; generated ones are always measured."""
    keep = count if keep_features else 0
    key = None
    if use_cache and isinstance(source, ImageData):
        key = cache.statistics_key(source.content_digest(), weights_digest, inception.pipeline, count,
                                   source.resize_to, bool(keep))
        stats = cache.load_statistics(key, FEATURE_DIM)
        if stats is not None:
            advance(count)
            return stats, True
    stats = FeatureStatistics(FEATURE_DIM, replicates, keep, device)
    accumulate(source, count, stats, inception, batch_size, device, advance, cancel)
    if key is not None and rank_and_world_size()[0] == 0:
        cache.save_statistics(key, stats)
    return stats, False


def fid_with_uncertainty(ref: FeatureStatistics, boot: FeatureStatistics) -> tuple:
    """(FID, bootstrap std, 95% interval, bootstrap bias) between the reference side and the bootstrapped
    side; all but the FID are None with fewer than 2 usable replicates."""
    mu_r, sigma_r = ref.mean_covariance()
    mu_b, sigma_b = boot.mean_covariance()
    factor_r = covariance_factor(sigma_r)
    fid = frechet_distance(mu_r, sigma_r, mu_b, sigma_b, factor1=factor_r)
    # A Poisson replicate of very few samples can draw fewer than 2 of them: no covariance, left out.
    usable = [i for i in range(boot.replicates) if boot.rep_count[i] >= 2]
    reps = [frechet_distance(mu_r, sigma_r, *boot.replicate_mean_covariance(i), factor1=factor_r) for i in usable]
    if len(reps) < 2:
        return fid, None, None, None
    # Replicates sit above the FID (a resample repeats images, which raises a Frechet distance), so their
    # percentiles can exclude it: the interval is their spread, centred on the estimate.
    std = float(np.std(reps, ddof=1))
    return fid, std, (fid - 1.96 * std, fid + 1.96 * std), float(np.mean(reps) - fid)


def protocol_names(metrics, counts: dict, n_gen: int | None, num_real: int | None) -> dict:
    """NVIDIA-style names: fid50k_full (generated vs all real), fid50k_real10k, or fid_5k_vs_5k (two image sets)."""
    if n_gen is None:
        suffix = f"_{format_count(counts['a'])}_vs_{format_count(counts['b'])}"
    else:
        suffix = format_count(n_gen) + ("_full" if num_real is None else f"_real{format_count(num_real)}")
    return {m: f"{m}{suffix}" for m in metrics}


def checked_metrics(metrics, batch_size: int) -> tuple:
    """`metrics` (a name or names, repeats dropped) once checked, with the batch size."""
    metrics = (metrics,) if isinstance(metrics, str) else tuple(dict.fromkeys(metrics))
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics or unknown:
        raise InvalidArgument(f"unknown metrics {unknown or metrics!r}; choose from {', '.join(METRICS)}", argument="metrics")
    if batch_size < 1:
        raise InvalidArgument(f"batch_size must be at least 1, got {batch_size}", argument="batch_size")
    return metrics


def open_sides(a, b, device, seed: int, resize_data: bool) -> dict:
    """'a' / 'b' -> their image source; a generator beside real data matches its resolution and, when
    conditional, draws its classes from the real labels (as NVIDIA does)."""
    sides = {"a": open_source(a, device, seed), "b": open_source(b, device, seed)}
    for g in sides.values():
        for d in sides.values():
            if isinstance(g, GeneratorSamples) and isinstance(d, ImageData):
                match_resolutions(g, d, resize_data)
                if g.labels is None and d.labels is not None and g.G.c_dim:
                    g.labels = d.labels
    return sides


def measurement_notes(boot: str, bootstrap_replicates: int, kid_subsets: int, kid_subset_size: int) -> dict:
    """How the samples were drawn and the uncertainties measured, in words for the result's settings."""
    return {
        "sampling": "generated sample i: numpy default_rng([seed, i]) draws z ~ N(0, I) then the class "
                    "(from the real labels when known, else uniform); truncation psi 1, noise const",
        "fid_uncertainty": f"Poisson bootstrap over side {boot!r}: {bootstrap_replicates} replicates "
                           f"(std; 95% interval = FID -/+ 1.96 std; bootstrap_bias = mean replicate - FID)",
        "kid": f"unbiased MMD^2, kernel (x.y/d + 1)^3, {kid_subsets} subsets of min({kid_subset_size}, n), "
               f"numpy RandomState({KID_SEED}); uncertainty = std over subsets",
    }


def compute_fid_kid(
    a,                                   # reference side: folder, zip, checkpoint path or generator
    b,                                   # compared side (bootstrapped when it is the generator)
    inception=None,                      # weights path (None: $EQVIZ_INCEPTION, else the public file) or a loaded InceptionV3FID
    metrics=("fid",),                    # subset of ('fid', 'kid')
    num_samples=50000,                   # generated images, or 'fid50k_full'
    num_real: int | None = None,         # real images used; None = all (NVIDIA's _full)
    pipeline: str = "tf",                # 'tf' or 'pytorch-fid' (ignored when `inception` is a loaded module)
    batch_size: int = 32,
    seed: int = 0,                       # generated sample i draws from default_rng([seed, i])
    resize_data: bool = False,           # resize real images to the generator's resolution (else refuse)
    bootstrap_replicates: int = BOOTSTRAP_REPLICATES,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    use_cache: bool = True,              # real-data statistics on disk (cache.py)
    device="cpu",
    progress=None,                       # callback(done, total) in images, after every batch
    cancel=None,                         # callable -> True to stop (raises eqviz.errors.Cancelled)
) -> FidKidResult:
    start = time.perf_counter()
    metrics = checked_metrics(metrics, batch_size)
    n_gen = resolve_num_samples(num_samples)
    if not isinstance(inception, InceptionV3FID):
        inception = load_inception(inception, pipeline=pipeline, device=device)
    weights_digest = file_digest(inception.weights_path)
    sides = open_sides(a, b, device, seed, resize_data)
    generated = any(isinstance(s, GeneratorSamples) for s in sides.values())
    real = any(isinstance(s, ImageData) for s in sides.values())
    counts = image_counts(sides, n_gen, num_real)
    boot = "b" if isinstance(sides["b"], GeneratorSamples) or not generated else "a"
    images = UnitCount("FID/KID", sum(counts.values()), progress, cancel)
    images.advance(0)

    stats, described = {}, {}
    with torch.no_grad(), full_float32():
        for name, s in sides.items():
            replicates = bootstrap_replicates if name == boot else 0
            stats[name], cached = side_statistics(s, counts[name], replicates, "kid" in metrics, inception, weights_digest,
                                                  use_cache, batch_size, device, images.advance, cancel)
            described[name] = {"source": s.describe(), "kind": s.kind, "images": counts[name], "cached": cached,
                               "resized_to": list(s.resize_to) if getattr(s, "resize_to", None) else None}

    result = FidKidResult(sources=described)
    if "fid" in metrics:
        (result.fid, result.fid_std, result.fid_interval95,
         result.fid_bootstrap_bias) = fid_with_uncertainty(stats["a" if boot == "b" else "b"], stats[boot])
    if "kid" in metrics:
        size = min(kid_subset_size, counts["a"], counts["b"])
        kid = kernel_inception_distance(stats["a"].features.numpy(), stats["b"].features.numpy(), kid_subsets, size, KID_SEED)
        every_image = size == counts["a"] == counts["b"]  # each subset is all of both sides, in another order
        result.kid, result.kid_std = kid.mean, None if every_image else kid.std
    result.protocol = protocol_names(metrics, counts, n_gen if generated else None, num_real if real else None)
    result.settings = {
        "metrics": list(metrics),
        "pipeline": inception.pipeline,
        "inception_sha256": weights_digest,
        "num_samples": n_gen if generated else None,
        "num_real": num_real,
        "seed": seed,
        "batch_size": batch_size,
        "device": str(device),
        "processes": rank_and_world_size()[1],
        **measurement_notes(boot, bootstrap_replicates, kid_subsets, kid_subset_size),
    }
    result.elapsed_s = time.perf_counter() - start
    return result
