"""run_comparison: the study's table (FID, KID, EQ-T, EQ-T frac, EQ-R) and its pictures for any checkpoints.

Each checkpoint is measured with the same settings: its equivariance over the same samples (not
defined for StyleGAN2, which has no input transform), FID/KID against the same real data with one
Inception and cached real statistics, and the pictures that explain the numbers: samples at the
same seeds, long-exposure averages (texture sticking), and a rotation strip of one seed.
"""
import importlib.metadata
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from eqviz.core.images import images_to_rgb8
from eqviz.core.input_transform import supports_input_transform, synthesize, synthesize_posed
from eqviz.core.latents import seed_ws
from eqviz.errors import InvalidArgument, stop_if_cancelled
from eqviz.metrics.equivariance.run import compute_equivariance
from eqviz.metrics.names import DATA_LABELS, DATA_METRICS, EQ_LABELS, EQ_METRICS
from eqviz.metrics.fid.compute import compute_fid_kid
from eqviz.progress import UnitCount
from eqviz.video.sticking import long_exposure
from eqviz.video.render import move_in_output_space

ALL_METRICS = DATA_METRICS + EQ_METRICS
METRIC_LABELS = {**DATA_LABELS, **EQ_LABELS}
EQ_UNDEFINED = "not defined: StyleGAN2 has no input transform to translate or rotate"


@dataclass
class CompareSpec:
    checkpoints: list                       # checkpoint paths
    data: str | None = None                 # real images for FID/KID: dataset zip or folder
    metrics: tuple = ALL_METRICS            # subset of ALL_METRICS; fid/kid need `data`
    num_samples: int = 1000                 # generated samples per metric (50000: the papers' protocol)
    inception: str | None = None            # FID Inception weights (None: $EQVIZ_INCEPTION, else the public file)
    pipeline: str = "tf"                    # 'tf' or 'pytorch-fid'
    num_real: int | None = None             # real images (None: all, NVIDIA's _full)
    resize_data: bool = False
    bootstrap_replicates: int = 10          # FID uncertainty
    use_cache: bool = True                  # real statistics on disk: every checkpoint after the first reuses them
    seeds: tuple = tuple(range(8))          # sample grid, long exposures and rotation strip (first seed)
    exposure_samples: int = 64              # images averaged per long exposure
    rotation_steps: int = 8                 # rotation strip: angles 0, 360/steps, ...
    batch_size: int = 8
    seed: int = 0                           # metric sampling seed
    device: str = "cpu"


@dataclass
class CheckpointReport:
    name: str
    path: str
    kind: str                               # StyleGAN2 / StyleGAN3-T / StyleGAN3-R
    resolution: int
    eq: object | None = None                # EquivarianceResult, or None
    eq_undefined: str | None = None         # why EQ has no value here
    fid_kid: object | None = None           # FidKidResult, or None
    samples: list = field(default_factory=list)         # [H, W, 3] uint8 per seed
    long_exposures: list = field(default_factory=list)  # [H, W, 3] uint8 per seed
    rotation_strip: list = field(default_factory=list)  # [H, W, 3] uint8 per angle
    rotation_note: str = ""
    elapsed_s: float = 0.0


@dataclass
class Comparison:
    spec: CompareSpec
    reports: list
    version: str
    elapsed_s: float

    def to_json(self) -> dict:
        s = self.spec
        return {
            "eqviz_version": self.version,
            "elapsed_s": self.elapsed_s,
            "settings": {"data": str(s.data) if s.data else None, "metrics": list(s.metrics), "num_samples": s.num_samples,
                         "pipeline": s.pipeline, "num_real": s.num_real, "resize_data": s.resize_data,
                         "bootstrap_replicates": s.bootstrap_replicates, "seeds": list(s.seeds),
                         "exposure_samples": s.exposure_samples, "seed": s.seed, "batch_size": s.batch_size,
                         "device": str(s.device)},
            "checkpoints": [checkpoint_json(r, s.metrics) for r in self.reports],
        }


def checkpoint_json(r: CheckpointReport, metrics) -> dict:
    out = {"name": r.name, "path": r.path, "kind": r.kind, "resolution": r.resolution, "elapsed_s": r.elapsed_s,
           "metrics": {}}
    for m in metrics:
        if m in EQ_METRICS:
            if r.eq is None:
                out["metrics"][m] = {"defined": False, "reason": r.eq_undefined}
            else:
                lo, hi = r.eq.interval_db[m]
                out["metrics"][m] = {"defined": True, "psnr_db": finite_or_none(r.eq.psnr_db[m]),
                                     "interval_95_db": [finite_or_none(lo), finite_or_none(hi)],
                                     "num_samples": len(r.eq.sample_indices)}
        elif m == "fid":
            f = r.fid_kid
            out["metrics"][m] = {"defined": True, "value": f.fid, "bootstrap_std": f.fid_std,
                                 "interval_95": list(f.fid_interval95) if f.fid_interval95 else None,
                                 "protocol": f.protocol["fid"]}
        else:
            f = r.fid_kid
            out["metrics"][m] = {"defined": True, "value": f.kid, "subset_std": f.kid_std, "protocol": f.protocol["kid"]}
    if r.eq is not None:
        out["equivariance"] = r.eq.to_json()
    if r.fid_kid is not None:
        out["fid_kid"] = r.fid_kid.to_json()
    out["rotation_strip"] = r.rotation_note
    return out


def check_spec(spec: CompareSpec) -> tuple:
    metrics = tuple(dict.fromkeys(spec.metrics))
    unknown = [m for m in metrics if m not in ALL_METRICS]
    if not metrics or unknown:
        raise InvalidArgument(f"unknown metrics {unknown or list(metrics)}; choose from {', '.join(ALL_METRICS)}", "metrics")
    if any(m in DATA_METRICS for m in metrics) and spec.data is None:
        raise InvalidArgument("fid and kid compare with real images: give the data (a dataset zip or an image folder)", "data")
    if not spec.checkpoints:
        raise InvalidArgument("give at least one checkpoint to compare", "checkpoints")
    if spec.num_samples < 2 or not spec.seeds or spec.exposure_samples < 1 or spec.rotation_steps < 1:
        raise InvalidArgument(f"num_samples must be at least 2 and seeds, exposure samples and rotation steps at least 1, "
                              f"got {spec.num_samples}, {len(spec.seeds)}, {spec.exposure_samples}, {spec.rotation_steps}",
                              "num_samples")
    return metrics


@torch.no_grad()
def sample_grid(G, seeds, device) -> list:
    ws = torch.cat([seed_ws(G, s, device=device) for s in seeds])
    return list(images_to_rgb8(synthesize(G, ws)).cpu().numpy())


@torch.no_grad()
def rotation_strip(G, seed: int, steps: int, device) -> tuple:
    """Seed's image at angles 0, 360/steps, ...: through the input transform where there is one,
    else (StyleGAN2) rotated after synthesis, said so in the note."""
    ws = seed_ws(G, seed, device=device)
    angles = [360.0 * k / steps for k in range(steps)]
    if supports_input_transform(G):
        frames = torch.cat([synthesize_posed(G, ws, ((0.0, 0.0), a)) for a in angles])
        note = f"seed {seed} rotated through the input transform, {', '.join(f'{a:g}' for a in angles)} degrees"
    else:
        still = synthesize(G, ws)[None].expand(steps, -1, -1, -1, -1)            # [F, cells = 1, C, H, W]
        frames = move_in_output_space(still, [((0.0, 0.0), a) for a in angles])[:, 0]
        note = f"seed {seed}: StyleGAN2 has no input transform, so its output is rotated after synthesis"
    return list(images_to_rgb8(frames).cpu().numpy()), note


def exposure_images(G, seeds, samples: int, batch: int, device, on_batch=None) -> list:
    return [images_to_rgb8(long_exposure(G, s, samples=samples, batch=batch, device=device, on_batch=on_batch)[1][None])
            [0].cpu().numpy() for s in seeds]


def pictures(G, spec: CompareSpec, report: CheckpointReport, progress=None, cancel=None) -> None:
    """The report's pictures of one checkpoint (sample grid, long exposures, rotation strip), counted
    in images: at the defaults they are 530 syntheses, minutes on a CPU, so they show progress too."""
    images = UnitCount("comparison pictures", len(spec.seeds) * (spec.exposure_samples + 2) + spec.rotation_steps,
                       progress, cancel)
    images.advance(0)
    report.samples = sample_grid(G, spec.seeds, spec.device)
    images.advance(2 * len(spec.seeds))  # the grid, and each exposure's own single image
    report.long_exposures = exposure_images(G, spec.seeds, spec.exposure_samples, spec.batch_size, spec.device,
                                            on_batch=images.advance)
    report.rotation_strip, report.rotation_note = rotation_strip(G, spec.seeds[0], spec.rotation_steps, spec.device)
    images.advance(spec.rotation_steps)


def run_comparison(spec: CompareSpec, progress=None, cancel=None) -> Comparison:
    """Measures and pictures every checkpoint of `spec`.

    progress(label, done, total) after every step; cancel() -> True stops (raises eqviz.errors.Cancelled).
    """
    from eqviz.metrics.fid.inception import load_inception
    from eqviz.networks import inspect_checkpoint, load_generator

    metrics = check_spec(spec)
    start = time.perf_counter()
    eq_metrics = tuple(m for m in metrics if m in EQ_METRICS)
    data_metrics = tuple(m for m in metrics if m in DATA_METRICS)
    inception = load_inception(spec.inception, pipeline=spec.pipeline, device=spec.device) if data_metrics else None
    reports = []
    for k, path in enumerate(spec.checkpoints):
        stop_if_cancelled(cancel, "comparison", k, len(spec.checkpoints))
        t0 = time.perf_counter()
        info = inspect_checkpoint(path)
        G = load_generator(path, device=spec.device)
        name = Path(path).stem
        report = CheckpointReport(name=name, path=str(Path(path).resolve()), kind=info.kind_label,
                                  resolution=info.img_resolution)

        def step(what):
            return None if progress is None else (lambda done, total: progress(f"{name}: {what}", done, total))

        if eq_metrics and supports_input_transform(G):
            if progress is not None:
                progress(f"{name}: equivariance", 0, spec.num_samples)
            report.eq = compute_equivariance(G, metrics=eq_metrics, num_samples=spec.num_samples, batch_size=spec.batch_size,
                                             seed=spec.seed, device=spec.device, progress=step("equivariance"),
                                             cancel=cancel)
        elif eq_metrics:
            report.eq_undefined = EQ_UNDEFINED
        if data_metrics:
            report.fid_kid = compute_fid_kid(spec.data, G, inception, metrics=data_metrics, num_samples=spec.num_samples,
                                             num_real=spec.num_real, batch_size=spec.batch_size, seed=spec.seed,
                                             resize_data=spec.resize_data, bootstrap_replicates=spec.bootstrap_replicates,
                                             use_cache=spec.use_cache,
                                             device=spec.device, progress=step("fid features"), cancel=cancel)
        pictures(G, spec, report, progress=step("pictures"), cancel=cancel)
        report.elapsed_s = time.perf_counter() - t0
        reports.append(report)
    return Comparison(spec=spec, reports=reports, version=eqviz_version(), elapsed_s=time.perf_counter() - start)


def eqviz_version() -> str:
    try:
        return importlib.metadata.version("eqviz")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def finite_or_none(x):
    """JSON has no infinity: a PSNR of identical images (+inf) becomes null."""
    return float(x) if x is not None and math.isfinite(x) else None


def per_sample_psnrs(report: CheckpointReport, metric: str) -> np.ndarray:
    """Finite per-sample PSNRs of one EQ metric (identical images give +inf and are left out of plots)."""
    values = np.asarray(report.eq.per_sample_psnr_db[metric], dtype=np.float64)
    return values[np.isfinite(values)]
