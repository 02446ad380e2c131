"""Projection: find the W (or W+) whose image matches each target, by gradient descent through G.

The schedule is stylegan2-ada-pytorch's projector (Karras et al. 2020): start from w_avg estimated
from 10k mapped samples; Adam with a learning rate ramped up over the first 5% and down (cosine)
over the last 25%; Gaussian noise on w, 0.05 of the W spread at first, fading out (quadratically)
over the first 75%. StyleGAN2's noise maps can be optimised alongside (NVIDIA does), under the
multi-scale noise regulariser and renormalised each step; eqviz leaves that off by default, because
projected_w.npz carries the W alone: with the noise fixed at the checkpoint's stored maps, the W
renders everywhere else (render, video, the app) exactly as it was projected. Measured on the
64-px StyleGAN2 reference, self-projection at 200 steps: 19.8 dB with fixed noise, 10.8 dB with
optimised noise (which starts drifting away from the stored maps at once). Several targets are
projected at once, independently.
"""
import copy
import dataclasses
import math
import time
from collections.abc import Callable

import numpy as np
import torch

from eqviz.core.input_transform import synthesize
from eqviz.core.latents import class_label
from eqviz.errors import Cancelled, InvalidArgument
from eqviz.progress import Progress
from eqviz.projection.losses import (LOSS_NAMES, WeightedDistance, discriminator_distance, lpips_distance, noise_regularization,
                                     pixel_distance)

SPACES = ("w", "w+")


@dataclasses.dataclass(frozen=True)
class ProjectionSettings:
    """How to project; the defaults are stylegan2-ada-pytorch's projector's."""

    space: str = "w"                        # 'w': one w for every layer; 'w+': one w per layer
    layer_lr_factor: float = 0.1            # W+: learning rate of the per-layer offsets, relative to the shared w
    steps: int = 1000                       # optimisation steps
    losses: tuple = (("pixel", 1.0), ("discriminator", 1.0))  # (name, weight) pairs, see losses.LOSS_NAMES
    w_avg_samples: int = 10000              # mapped samples behind the start point and the W spread
    initial_learning_rate: float = 0.1      # Adam's peak learning rate
    lr_rampup_length: float = 0.05          # fraction of the steps to ramp the learning rate up over
    lr_rampdown_length: float = 0.25        # fraction of the steps at the end to ramp it down over (cosine)
    initial_noise_factor: float = 0.05      # std of the noise on w at step 0, in units of the W spread
    noise_ramp_length: float = 0.75         # fraction of the steps over which that noise fades to 0
    optimize_noise: bool = False            # StyleGAN2: optimise the noise maps too (NVIDIA: True)
    regularize_noise_weight: float = 1e5    # weight of the noise regulariser
    class_idx: int | None = None            # class of a conditional model
    seed: int = 303                         # noise on w (and nothing else) is drawn from this seed
    history_every: int = 0                  # keep w every N steps for a progress video (0 = never)

    def __post_init__(self):
        if self.space not in SPACES:
            raise InvalidArgument(f"projection space must be 'w' or 'w+', got {self.space!r}", argument="space")
        if not isinstance(self.steps, int) or self.steps < 1:
            raise InvalidArgument(f"projection needs at least 1 step, got {self.steps!r}", argument="steps")
        if self.w_avg_samples < 2:
            raise InvalidArgument(f"w_avg_samples must be at least 2, got {self.w_avg_samples}", argument="w_avg_samples")
        object.__setattr__(self, "losses", tuple((str(n), float(w)) for n, w in dict(self.losses).items()))


@dataclasses.dataclass
class ProjectionResult:
    ws: torch.Tensor          # [N, num_ws, w_dim]: each target's best W so far (W space: the same w repeated)
    images: torch.Tensor      # [N, C, R, R]: G's images of `ws` with `noise` (float, not clamped)
    distance: torch.Tensor    # [N]: the weighted distance each image had when its W was found
    best_step: list           # [N]: the step each W comes from
    steps_done: int           # steps run (fewer than asked when cancelled)
    noise: dict               # StyleGAN2 noise-map name -> [N, R, R], as optimised (empty for StyleGAN3)
    history: list             # [(step, ws [N, num_ws, w_dim])] every `history_every` steps


# ---- The schedule (stylegan2-ada-pytorch's projector) --------------------------------------------------
def learning_rate(step: int, settings: ProjectionSettings) -> float:
    t = step / settings.steps
    ramp = min(1.0, (1.0 - t) / settings.lr_rampdown_length)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return settings.initial_learning_rate * ramp * min(1.0, t / settings.lr_rampup_length)


def w_noise_scale(step: int, w_std: float, settings: ProjectionSettings) -> float:
    t = step / settings.steps
    return w_std * settings.initial_noise_factor * max(0.0, 1.0 - t / settings.noise_ramp_length) ** 2


@torch.no_grad()
def w_statistics(G, samples: int, c: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, float]:
    """(w_avg [1, w_dim], W spread = sqrt(mean squared distance to w_avg)) from `samples` mapped z drawn
    with RandomState(123) as NVIDIA does; mapped in batches so memory stays bounded."""
    z = np.random.RandomState(123).randn(samples, G.z_dim)
    ws = torch.cat([G.mapping(torch.from_numpy(z[i:i + batch]).to(c.device), c.expand(len(z[i:i + batch]), -1))[:, 0]
                    for i in range(0, samples, batch)]).to(torch.float64)
    w_avg = ws.mean(dim=0, keepdim=True)
    w_std = float((ws - w_avg).square().sum(dim=1).mean().sqrt())
    return w_avg.to(torch.float32), w_std


def _noise_layers(G) -> dict:
    return {name: module for name, module in G.synthesis.named_modules() if getattr(module, "use_noise", False)
            and isinstance(getattr(module, "noise_const", None), torch.Tensor)}


def _check_targets(G, targets: torch.Tensor) -> None:
    want = [G.img_channels, G.img_resolution, G.img_resolution]
    if not isinstance(targets, torch.Tensor) or targets.ndim != 4 or list(targets.shape[1:]) != want:
        shape = list(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise InvalidArgument(f"targets must have shape [N, {', '.join(map(str, want))}] for this generator, got "
                              f"{shape}; prepare them with eqviz.projection.targets", argument="targets")


def build_distance(settings: ProjectionSettings, targets: torch.Tensor, D=None, lpips=None) -> WeightedDistance:
    """The weighted distance to `targets` the settings ask for; says what is missing for a loss."""
    distances = {}
    for name, weight in settings.losses:
        if name == "pixel":
            distances[name] = (weight, lambda img: pixel_distance(img, targets))
        elif name == "discriminator":
            if D is None:
                raise InvalidArgument("the discriminator loss needs the snapshot's D, and none was given; use the "
                                      "pixel or lpips loss, or a training snapshot (network-snapshot-*.pkl)",
                                      argument="losses")
            if (D.img_resolution, D.img_channels) != (targets.shape[2], targets.shape[1]):
                raise InvalidArgument(f"the discriminator takes {D.img_resolution}px images with {D.img_channels} "
                                      f"channels but the generator makes {targets.shape[2]}px with "
                                      f"{targets.shape[1]}; use D from the generator's own snapshot", argument="D")
            distances[name] = (weight, discriminator_distance(D, targets))
        elif name == "lpips":
            if lpips is None:
                from eqviz.projection.lpips import HOW_TO_GET

                raise InvalidArgument(f"the lpips loss needs its weight files; {HOW_TO_GET}", argument="lpips_vgg")
            distances[name] = (weight, lpips_distance(lpips, targets))
        else:
            raise InvalidArgument(f"unknown projection loss {name!r}; choose from {', '.join(LOSS_NAMES)}",
                                  argument="losses")
    return WeightedDistance(distances)


def project(G,
            targets: torch.Tensor,                  # [N, C, R, R] in [-1, 1], see eqviz.projection.targets
            settings: ProjectionSettings = ProjectionSettings(),
            D=None,                                 # the snapshot's discriminator (discriminator loss)
            lpips=None,                             # eqviz.projection.lpips.LPIPS (lpips loss)
            progress: Callable | None = None,       # called with a Progress after every step
            preview: Callable | None = None,        # called with (step, images [N, C, R, R]) every preview_every steps
            preview_every: int = 10,
            cancel: Callable | None = None,         # returns True to stop; Cancelled then carries the best so far
            ) -> ProjectionResult:
    """Projects each target into G's W (or W+) space; G itself is never modified (a private copy is optimised).

    Raises:
        EqvizError: targets of the wrong shape, a loss without what it needs, a bad class.
        Cancelled: `cancel()` said stop; `.partial` is the ProjectionResult of the steps done.
    """
    _check_targets(G, targets)
    device = targets.device
    # A copy, not G: the noise layers' noise_const become optimised per-target maps, and eval/device/grad change.
    G = copy.deepcopy(G).eval().requires_grad_(False).to(device)
    n = targets.shape[0]
    distance = build_distance(settings, targets, D=D, lpips=lpips)
    w_avg, w_std = w_statistics(G, settings.w_avg_samples, class_label(G, settings.class_idx, device))
    layers = per_target_noise(G, n) if settings.optimize_noise else {}
    noise_maps = list(layers.values())
    search = WSearch(G, settings, w_avg, n, noise_maps)
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    best = BestSoFar(search.ws(0), noise_maps)
    history = []
    start = time.perf_counter()

    def result(steps_done):
        images = best.restore_noise(layers, G)
        noise = {name: maps[:, 0] for name, maps in zip(layers, best.noise)}
        return ProjectionResult(best.ws, images, best.distance, best.step, steps_done, noise, history)

    for step in range(settings.steps):
        if cancel is not None and cancel():  # the partial result costs a synthesis: only when stopping
            raise Cancelled(f"projection cancelled at step {step} of {settings.steps}", done=step,
                            total=settings.steps, partial=result(step))
        search.set_learning_rates(step)
        if settings.history_every and step % settings.history_every == 0:
            history.append((step, search.ws(0).detach().clone()))
        w_noise = torch.randn(search.w.shape, generator=generator, device=device) * w_noise_scale(step, w_std, settings)
        images = synthesize(G, search.ws(w_noise))
        dist = distance(images)  # [N]
        reg = noise_regularization(noise_maps) if noise_maps else torch.zeros_like(dist)
        best.update(step, dist.detach(), search.ws(w_noise).detach(), noise_maps)
        if preview is not None and (step % preview_every == 0 or step == settings.steps - 1):
            preview(step, images.detach())
        search.step((dist + reg * settings.regularize_noise_weight).sum())
        normalize_noise(noise_maps)
        if progress is not None:
            progress(Progress(step + 1, settings.steps, time.perf_counter() - start, unit="step"))
    return result(settings.steps)


# ---- Its steps --------------------------------------------------------------------------------------
def per_target_noise(G, n: int) -> dict:
    """{layer name: its noise map}, each noise layer's stored constant noise repeated for n targets and
    made trainable [N, 1, H, W] (the copy's noise_const is replaced)."""
    layers = _noise_layers(G)
    for module in layers.values():
        module.noise_const = module.noise_const.detach()[None, None].repeat(n, 1, 1, 1).requires_grad_(True)
    return {name: module.noise_const for name, module in layers.items()}


class WSearch:
    """The optimised latents: one w per target, plus per-layer offsets in W+, and their Adam optimiser.

    W+ is the shared w plus per-layer offsets. The shared part follows the W search exactly; the offsets
    start once the noise on w has faded (before, they only chase that noise) and learn more slowly.
    Optimising W+ directly measured far worse (sg2_64, 500 steps: 17 dB against 48 dB in W)."""

    def __init__(self, G, settings: ProjectionSettings, w_avg: torch.Tensor, n: int, noise_maps: list):
        self.settings, self.n, self.num_ws = settings, n, G.num_ws
        self.w = w_avg.reshape(1, 1, -1).repeat(n, 1, 1).requires_grad_(True)
        w_plus = settings.space == "w+"
        self.offsets = torch.zeros([n, G.num_ws if w_plus else 1, G.w_dim], device=w_avg.device, requires_grad=w_plus)
        groups = [{"params": [self.w] + noise_maps, "lr_factor": 1.0, "start": 0.0}]
        if w_plus:
            groups.append({"params": [self.offsets], "lr_factor": settings.layer_lr_factor,
                           "start": settings.noise_ramp_length})
        self.optimizer = torch.optim.Adam(groups, betas=(0.9, 0.999), lr=settings.initial_learning_rate)

    def ws(self, w_noise) -> torch.Tensor:  # [N, num_ws, w_dim]
        return (self.w + w_noise + self.offsets).expand(self.n, self.num_ws, -1)

    def set_learning_rates(self, step: int) -> None:
        """The schedule's rate for each group that has started (the offsets after the noise ramp), else 0."""
        for group in self.optimizer.param_groups:
            started = step >= group["start"] * self.settings.steps
            group["lr"] = learning_rate(step, self.settings) * group["lr_factor"] if started else 0.0

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()


class BestSoFar:
    """Per target, the W (noise on w included, which counts against it) and noise maps of the lowest
    distance seen, and its step."""

    def __init__(self, ws: torch.Tensor, noise_maps: list):
        self.ws = ws.detach().clone()
        self.distance = torch.full([ws.shape[0]], math.inf, device=ws.device)
        self.step = [-1] * ws.shape[0]
        self.noise = [m.detach().clone() for m in noise_maps]

    @torch.no_grad()
    def update(self, step: int, distance: torch.Tensor, ws: torch.Tensor, noise_maps: list) -> None:
        better = distance < self.distance
        if not bool(better.any()):
            return
        self.distance = torch.where(better, distance, self.distance)
        self.ws[better] = ws[better]
        for best, current in zip(self.noise, noise_maps):
            best[better] = current.detach()[better]
        self.step = [step if b else s for b, s in zip(better.tolist(), self.step)]

    @torch.no_grad()
    def restore_noise(self, layers: dict, G) -> torch.Tensor:
        """Puts the best noise maps into the copy's noise layers and renders the best ws with them."""
        for maps, best in zip(layers.values(), self.noise):
            maps.copy_(best)
        return synthesize(G, self.ws)


@torch.no_grad()
def normalize_noise(noise_maps: list) -> None:
    """Keeps each noise map zero-mean and unit-variance after a step."""
    for noise in noise_maps:
        noise -= noise.mean(dim=[1, 2, 3], keepdim=True)
        noise *= noise.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
