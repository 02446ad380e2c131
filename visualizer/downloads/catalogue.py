"""NVIDIA's published StyleGAN3 and StyleGAN2 pickles, by name, and the mirror that can serve them.

URLs as the NVlabs/stylegan3 README lists them (NGC, nvidia/research/stylegan3 and stylegan2,
version 1) and as the NVlabs/stylegan2-ada-pytorch README lists its pretrained folder. Sizes are
approximate: the float32 parameters of the G, G_ema and D each pickle holds, counted by eqviz's own
constructors at the configurations NVIDIA's docs/configs.md gives (StyleGAN3-R doubles G's channels;
the 256-px models use cbase 16384), rounded to 10 MB; the server's Content-Length is what a
download checks.

`EQVIZ_MIRROR=URL/` replaces everything before the file name of every download (models and metric
weights alike): for machines behind a firewall with their own mirror, and for tests.
"""
import dataclasses
import os

MIRROR_ENV = "EQVIZ_MIRROR"
NGC = "https://api.ngc.nvidia.com/v2/models/nvidia/research/{}/versions/1/files/{}.pkl"
ADA = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/{}.pkl"


@dataclasses.dataclass(frozen=True)
class PublishedModel:
    name: str          # what to type wherever a checkpoint goes
    kind: str          # StyleGAN3-T, StyleGAN3-R or StyleGAN2
    resolution: int
    dataset: str
    url: str
    approx_mb: int     # approximate download size


def _ngc(kind: str, dataset: str, resolution: int, description: str, approx_mb: int) -> PublishedModel:
    family = "stylegan3" if kind.startswith("StyleGAN3") else "stylegan2"
    prefix = {"StyleGAN3-T": "stylegan3-t", "StyleGAN3-R": "stylegan3-r", "StyleGAN2": "stylegan2"}[kind]
    name = f"{prefix}-{dataset}-{resolution}x{resolution}"
    return PublishedModel(name, kind, resolution, description, NGC.format(family, name), approx_mb)


def _ada(file: str, resolution: int, description: str, approx_mb: int) -> PublishedModel:
    return PublishedModel(f"stylegan2-ada-{file}-{resolution}x{resolution}", "StyleGAN2", resolution, description,
                          ADA.format(file), approx_mb)


FFHQ, FFHQU = "FFHQ (aligned faces)", "FFHQ-U (unaligned faces)"
METFACES, METFACESU = "MetFaces (aligned art faces)", "MetFaces-U (unaligned art faces)"
AFHQV2 = "AFHQv2 (cats, dogs, wild animals)"

CATALOGUE = (
    _ngc("StyleGAN3-T", "ffhq", 1024, FFHQ, 300),
    _ngc("StyleGAN3-T", "ffhqu", 1024, FFHQU, 300),
    _ngc("StyleGAN3-T", "ffhqu", 256, FFHQU, 280),
    _ngc("StyleGAN3-T", "metfaces", 1024, METFACES, 300),
    _ngc("StyleGAN3-T", "metfacesu", 1024, METFACESU, 300),
    _ngc("StyleGAN3-T", "afhqv2", 512, AFHQV2, 320),
    _ngc("StyleGAN3-R", "ffhq", 1024, FFHQ, 240),
    _ngc("StyleGAN3-R", "ffhqu", 1024, FFHQU, 240),
    _ngc("StyleGAN3-R", "ffhqu", 256, FFHQU, 220),
    _ngc("StyleGAN3-R", "metfaces", 1024, METFACES, 240),
    _ngc("StyleGAN3-R", "metfacesu", 1024, METFACESU, 240),
    _ngc("StyleGAN3-R", "afhqv2", 512, AFHQV2, 250),
    _ngc("StyleGAN2", "ffhq", 1024, FFHQ, 380),
    _ngc("StyleGAN2", "ffhq", 512, FFHQ, 360),
    _ngc("StyleGAN2", "ffhq", 256, FFHQ, 300),
    _ngc("StyleGAN2", "ffhqu", 1024, FFHQU, 380),
    _ngc("StyleGAN2", "ffhqu", 256, FFHQU, 300),
    _ngc("StyleGAN2", "metfaces", 1024, METFACES, 380),
    _ngc("StyleGAN2", "metfacesu", 1024, METFACESU, 380),
    _ngc("StyleGAN2", "afhqv2", 512, AFHQV2, 360),
    _ngc("StyleGAN2", "afhqcat", 512, "AFHQ cats", 360),
    _ngc("StyleGAN2", "afhqdog", 512, "AFHQ dogs", 360),
    _ngc("StyleGAN2", "afhqwild", 512, "AFHQ wild animals", 360),
    _ngc("StyleGAN2", "brecahad", 512, "BreCaHAD (histology)", 360),
    _ngc("StyleGAN2", "cifar10", 32, "CIFAR-10 (10 classes, conditional)", 260),
    _ngc("StyleGAN2", "celebahq", 256, "CelebA-HQ (faces)", 300),
    _ngc("StyleGAN2", "lsundog", 256, "LSUN Dog", 300),
    _ada("ffhq", 1024, FFHQ, 380),
    _ada("metfaces", 1024, METFACES + ", transfer from FFHQ", 380),
    _ada("afhqcat", 512, "AFHQ cats", 360),
    _ada("afhqdog", 512, "AFHQ dogs", 360),
    _ada("afhqwild", 512, "AFHQ wild animals", 360),
    _ada("brecahad", 512, "BreCaHAD (histology)", 360),
    _ada("cifar10", 32, "CIFAR-10 (10 classes, conditional)", 260),
)
BY_NAME = {model.name: model for model in CATALOGUE}


def find_model(text: str) -> PublishedModel | None:
    """The published model called `text` (with or without `.pkl`), or None."""
    name = str(text).strip()
    return BY_NAME.get(name.removesuffix(".pkl"))


def mirrored(url: str) -> str:
    """`url` with everything before its file name replaced by $EQVIZ_MIRROR, when that is set."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if not mirror:
        return url
    return mirror.rstrip("/") + "/" + url.split("?", 1)[0].rsplit("/", 1)[-1]
