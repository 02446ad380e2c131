"""What a projection minimises: distances between the generated images and the targets, per sample.

Each distance is a callable image batch -> [N] built once around the targets (their features are
computed once). Weights combine them; the StyleGAN2 noise regulariser (stylegan2-ada-pytorch's
projector) keeps optimised noise maps from absorbing the image.
"""
from collections.abc import Callable

import torch
import torch.nn.functional as F

from eqviz.errors import InvalidArgument

LOSS_NAMES = ("pixel", "discriminator", "lpips")

# NVIDIA's projector feeds VGG at most 256x256 (area-downsampled): VGG was trained on 224-px images.
LPIPS_MAX_SIZE = 256


def parse_losses(text: str) -> dict[str, float]:
    """'pixel,discriminator' or 'pixel=1,lpips=0.5' -> {name: weight} (weight 1 when not given)."""
    losses = {}
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        name, _, weight = part.partition("=")
        name = name.strip().lower()
        if name not in LOSS_NAMES:
            raise InvalidArgument(f"unknown projection loss {name!r}; choose from {', '.join(LOSS_NAMES)}",
                                  argument="losses")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise InvalidArgument(f"loss weight {weight!r} of {name} is not a number (write e.g. {name}=0.5)",
                                  argument="losses") from None
        if not value > 0:
            raise InvalidArgument(f"loss weight of {name} must be positive, got {value}", argument="losses")
        losses[name] = value
    if not losses:
        raise InvalidArgument(f"no projection loss given; choose from {', '.join(LOSS_NAMES)}", argument="losses")
    return losses


def pixel_distance(img: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample [N] at the generator's resolution."""
    return (img - target).square().mean(dim=[1, 2, 3])


def relative_feature_distance(a: dict, b: dict) -> torch.Tensor:
    """Mean over blocks of |a_k - b_k|^2 / |b_k|^2 per sample [N]: every block counts alike, whatever the
    scale of its features (a trained D's blocks differ by orders of magnitude)."""
    total = 0
    for name, fb in b.items():
        energy = fb.square().mean(dim=[1, 2, 3]) + 1e-8
        total = total + (a[name] - fb).square().mean(dim=[1, 2, 3]) / energy
    return total / len(b)


def discriminator_distance(D, target: torch.Tensor) -> Callable:
    """img -> [N] distance between the discriminator's block features of img and of the target."""
    with torch.no_grad():
        target_features = D.block_features(target)
    return lambda img: relative_feature_distance(D.block_features(img), target_features)


def lpips_input(img: torch.Tensor) -> torch.Tensor:
    """Images larger than LPIPS_MAX_SIZE are area-downsampled to it, as NVIDIA's projector does."""
    if img.shape[2] > LPIPS_MAX_SIZE:
        return F.interpolate(img, size=(LPIPS_MAX_SIZE, LPIPS_MAX_SIZE), mode="area")
    return img


def lpips_distance(net, target: torch.Tensor) -> Callable:
    """img -> [N] LPIPS between img and the target (`net`: eqviz.projection.lpips.LPIPS)."""
    with torch.no_grad():
        target_features = net.features(lpips_input(target))
    return lambda img: net.distance(net.features(lpips_input(img)), target_features)


def noise_regularization(noise_maps: list[torch.Tensor]) -> torch.Tensor:
    """Per-sample [N] sum of squared one-pixel autocorrelations of each noise map [N, 1, H, W], at every
    2x-pooled scale down to 8x8 (stylegan2-ada-pytorch's projector): zero for white noise."""
    total = 0
    for noise in noise_maps:
        while True:
            for dim in (3, 2):
                total = total + (noise * torch.roll(noise, shifts=1, dims=dim)).mean(dim=[1, 2, 3]).square()
            if noise.shape[2] <= 8:
                break
            noise = F.avg_pool2d(noise, kernel_size=2)
    return total


class WeightedDistance:
    """sum_k weight_k * distance_k(img), per sample [N]; `terms(img)` also reports each term."""

    def __init__(self, distances: dict[str, tuple[float, Callable]]):
        self.distances = distances

    def terms(self, img: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        parts = {name: fn(img) for name, (_, fn) in self.distances.items()}
        total = sum(self.distances[name][0] * value for name, value in parts.items())
        return total, parts

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        return self.terms(img)[0]
