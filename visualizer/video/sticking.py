"""Texture-sticking views (StyleGAN3 paper, fig. 1): long-exposure averages and central-column stacks.

Long exposure: average, in image space, many images whose latents are small random perturbations of
one seed's. Details that move with the latent blur out; details glued to pixel coordinates (texture
sticking) stay sharp. Column stack: render a slow translation (or, for generators without an input
transform, a slow latent interpolation) and stack the central column of every frame side by side;
moving content draws a smooth field, stuck content draws horizontal streaks.
"""
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from eqviz.errors import InvalidArgument, stop_if_cancelled
from eqviz.progress import Progress
from eqviz.video import layout as video_layout
from eqviz.atomic_io import check_target, ensure_writable_folder, save_png, write_text
from eqviz.core.input_transform import supports_input_transform, synthesize, synthesize_posed
from eqviz.core.latents import class_label, lerp, seed_ws, z_from_seed
from eqviz.core.rendering import check_finite
from eqviz.video.render import load_generators, to_tiles
from eqviz.video.sticking_spec import STACK_MOTIONS, StickingSpec, check_spec
from eqviz.video.writer import ThreadedWriter, encoder_threads_beside, open_writer

MARK = np.array([255, 40, 40], np.uint8)  # ticks marking the sampled column


@dataclasses.dataclass
class StickingResult:
    files: list[Path]
    stack_motion: str                # the motion the column stacks used
    sharpness: dict                  # {seed: {checkpoint: {"single": hf, "long_exposure": hf}}}


# ---- High-frequency energy: mean power of the spectrum above `cutoff` cycles/pixel ------------------
# (Parseval: equals the mean squared value of the image high-passed at that frequency.)
def high_frequency_energy(img: torch.Tensor, cutoff: float = 0.25) -> float:
    """img [C, H, W] -> energy of spatial frequencies with radius > cutoff (Nyquist is 0.5)."""
    img = img.double()
    spectrum = torch.fft.fft2(img - img.mean(dim=(-2, -1), keepdim=True))
    fy = torch.fft.fftfreq(img.shape[-2], dtype=torch.float64).view(-1, 1)
    fx = torch.fft.fftfreq(img.shape[-1], dtype=torch.float64).view(1, -1)
    high = (fx**2 + fy**2).sqrt() > cutoff
    pixels = img[0].numel()
    return float((spectrum.abs() ** 2 * high).sum() / (pixels * pixels * img.shape[0]))  # mean over pixels and channels


@torch.no_grad()
def long_exposure(G, seed: int, samples: int = 64, sigma: float = 0.2, psi: float = 1.0, cutoff: int | None = None,
                  class_idx: int | None = None, noise_mode: str = "const", batch: int = 16, device="cpu",
                  on_batch=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(the seed's own image, the average over `samples` latents perturbed by N(0, sigma) in Z), both
    [C, H, W] float, `batch` images per synthesis call. on_batch(n) runs after every n images (the
    caller counts, and may raise `Cancelled` there)."""
    single = check_finite(synthesize(G, seed_ws(G, seed, psi, cutoff, class_idx, device), noise_mode=noise_mode))[0]
    z0 = z_from_seed(seed, G.z_dim)
    noise = np.random.RandomState([seed & 0xFFFFFFFF, 1]).randn(samples, G.z_dim)  # own stream per seed
    c = class_label(G, class_idx, device)
    total = torch.zeros_like(single, dtype=torch.float64)
    for first in range(0, samples, batch):
        z = torch.from_numpy(z0 + sigma * noise[first : first + batch]).float().to(device)
        ws = G.mapping(z, c.expand(z.shape[0], -1), truncation_psi=psi, truncation_cutoff=cutoff)
        total += check_finite(synthesize(G, ws, noise_mode=noise_mode)).double().sum(0)
        if on_batch is not None:
            on_batch(z.shape[0])
    return single, (total / samples).float()


def resolve_stack_motion(requested: str, generators) -> str:
    """'auto' translates when every generator has an input transform, else walks (same motion for all)."""
    if requested not in STACK_MOTIONS:
        raise InvalidArgument(f"unknown stack motion '{requested}'; use auto, translate or walk.", "stack_motion")
    fixed = [name for name, G in generators if not supports_input_transform(G)]
    if requested == "translate" and fixed:
        raise InvalidArgument(f"{', '.join(fixed)} has no input transform, so it cannot translate; "
                              "use the walk stack motion (or auto).", "stack_motion")
    if requested == "auto":
        return "walk" if fixed else "translate"
    return requested


@torch.no_grad()
def stack_frame(G, i: int, spec: StickingSpec, motion: str, walk_ends) -> torch.Tensor:
    """Image [C, H, W] of column-stack frame i: translated along x, or interpolated between walk_ends."""
    t = i / (spec.frames - 1) if spec.frames > 1 else 0.0
    if motion == "translate":
        return check_finite(synthesize_posed(G, walk_ends[0], ((spec.distance * (t - 0.5), 0.0), 0.0), spec.noise_mode))[0]
    return check_finite(synthesize(G, lerp(walk_ends[0], walk_ends[1], t), noise_mode=spec.noise_mode))[0]


def _tile(img: torch.Tensor, tile: int) -> np.ndarray:
    return to_tiles(img[None, None], tile)[0, 0].cpu().numpy()


PARTS = ("long_exposure.png", "column_stack.png", "column_stack.mp4")
SUMMARY = "sticking_summary.json"


def _exposure_sheet(named, seed, spec, tile, device, advance) -> tuple[np.ndarray, dict]:
    """Per checkpoint the seed's own image beside its long exposure, and their high-frequency energies."""
    panels, labels, sharpness = [], [], {}
    for name, G in named:
        single, average = long_exposure(G, seed, samples=spec.samples, sigma=spec.sigma, psi=spec.psi, cutoff=spec.cutoff,
                                        class_idx=spec.class_idx, noise_mode=spec.noise_mode, batch=spec.batch,
                                        device=device, on_batch=advance)
        advance(1)
        sharpness[name] = {"single": high_frequency_energy(single), "long_exposure": high_frequency_energy(average)}
        panels += [_tile(single, tile), _tile(average, tile)]
        labels += [(name, "single image"), (name, f"average of {spec.samples}")]
    return video_layout.Composer(video_layout.Layout(1, 1, tile, tuple(labels))).compose([panels]), sharpness


def _column_stacks(named, seed, spec, motion, tile, device, video_path, advance) -> np.ndarray:
    """Streams the column-stack video (each frame beside the stack so far); returns the final stacks."""
    stacks = [np.full((tile, spec.frames, 3), video_layout.BACKGROUND, np.uint8) for _ in named]
    walk_ends = [[seed_ws(G, s, spec.psi, spec.cutoff, spec.class_idx, device) for s in (seed, seed + 1)] for _, G in named]
    what = f"translate {spec.distance:g}" if motion == "translate" else f"walk to seed {seed + 1}"
    labels = tuple(label for name, _ in named for label in ((name, what), (name, "central column")))
    composer = video_layout.Composer(video_layout.Layout(1, 1, tile, labels, widths=(tile, spec.frames) * len(named)))
    threads = encoder_threads_beside(spec.device)
    with ThreadedWriter(open_writer(video_path, spec.fps, crf=spec.crf, overwrite=spec.overwrite, encoder_threads=threads)) as encoder:
        for i in range(spec.frames):
            cell = []
            for k, (_, G) in enumerate(named):
                image = _tile(stack_frame(G, i, spec, motion, walk_ends[k]), tile)
                stacks[k][:, i] = image[:, tile // 2]
                marked = image.copy()
                marked[:3, tile // 2] = MARK
                marked[-3:, tile // 2] = MARK
                cell += [marked, stacks[k].copy()]
            encoder.write(composer.compose([cell]))
            advance(len(named))
        encoder.commit()
    labels = tuple((name, "central column") for name, _ in named)
    return video_layout.Composer(video_layout.Layout(1, 1, tile, labels, widths=(spec.frames,) * len(named))).compose([stacks])


def render_sticking(spec: StickingSpec, progress=None, cancel=None, generators=None) -> StickingResult:
    """Writes, per seed, <outdir>/seed<S>_long_exposure.png, _column_stack.png and _column_stack.mp4.

    progress gets a `Progress` counting synthesised images; cancel (a callable, polled between
    batches) stops with `Cancelled`, leaving the files of finished seeds and none of the seed in progress.
    """
    check_spec(spec)
    outdir = ensure_writable_folder(spec.outdir, create=True)
    check_target(outdir / SUMMARY, spec.overwrite)  # refuse before any work
    for seed in spec.seeds:
        for part in PARTS:
            check_target(outdir / f"seed{seed:04d}_{part}", spec.overwrite)
    device = torch.device(spec.device)
    named = generators if generators is not None else load_generators(spec.checkpoints, device)
    motion = resolve_stack_motion(spec.stack_motion, named)
    tile = spec.size or max(G.img_resolution for _, G in named)
    total = len(spec.seeds) * len(named) * (spec.samples + 1 + spec.frames)
    done, start = 0, time.perf_counter()

    def advance(n):
        nonlocal done
        done += n
        if progress is not None:
            progress(Progress(done, total, time.perf_counter() - start, unit="image"))
        if done < total:
            stop_if_cancelled(cancel, "texture sticking", done, total)

    files, sharpness = [], {}
    for seed in spec.seeds:
        exposure_png, sharpness[seed] = _exposure_sheet(named, seed, spec, tile, device, advance)
        video_path = outdir / f"seed{seed:04d}_column_stack.mp4"
        stack_png = _column_stacks(named, seed, spec, motion, tile, device, video_path, advance)
        save_png(outdir / f"seed{seed:04d}_long_exposure.png", exposure_png, overwrite=spec.overwrite)
        save_png(outdir / f"seed{seed:04d}_column_stack.png", stack_png, overwrite=spec.overwrite)
        files += [outdir / f"seed{seed:04d}_{part}" for part in PARTS]
    summary = {"stack_motion": motion, "samples": spec.samples, "sigma": spec.sigma,
               "high_frequency_energy": {str(k): v for k, v in sharpness.items()}}
    write_text(outdir / SUMMARY, json.dumps(summary, indent=2) + "\n", overwrite=spec.overwrite)
    files.append(outdir / SUMMARY)
    return StickingResult(files=files, stack_motion=motion, sharpness=sharpness)
