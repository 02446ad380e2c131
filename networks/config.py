"""Generator hyperparameters: frozen dataclasses built from the kwargs NVIDIA saves in a checkpoint.

NVIDIA's pickles record the keyword arguments each Generator was constructed with (`_init_kwargs`).
This module is the one place that knows that schema, in its three dialects:
  * stylegan3 repo, `networks_stylegan2.Generator`: synthesis kwargs flat beside `mapping_kwargs`;
  * stylegan2-ada-pytorch, `eqviz.networks.Generator`: synthesis kwargs nested under `synthesis_kwargs`
    (and different class defaults: no clamp, no FP16 unless given);
  * stylegan3 repo, `networks_stylegan3.Generator`: flat synthesis and layer kwargs.
Every value a dialect leaves out gets the default of the class that would have received it, so the
config always spells out the complete architecture.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from eqviz.cuda_ops.bias_act import ACTIVATIONS
from eqviz.errors import CheckpointError
from eqviz.untrusted.messages import short_text

KINDS = ("stylegan2", "stylegan3-t", "stylegan3-r")

# train.py's --cbase default: a channel_base <= 1 is a TF-era "fmaps" fraction of it.
FULL_CHANNEL_BASE = 32768


@dataclass(frozen=True)
class MappingConfig:
    """The z (+ label) -> w MLP. StyleGAN3's mapping is this with embed/layer widths = w_dim."""

    num_layers: int = 8                     # fully connected layers
    embed_features: int | None = None       # label embedding width, None = w_dim
    layer_features: int | None = None       # hidden width, None = w_dim
    activation: str = "lrelu"               # activation of every layer
    lr_multiplier: float = 0.01             # equalized-lr gain of every layer
    w_avg_beta: float | None = 0.998        # None = the model tracks no w_avg (no truncation possible)

    def __post_init__(self):
        _check_fields(self, _MAPPING_RULES)


@dataclass(frozen=True)
class StyleGAN2Config:
    """Everything `eqviz.networks.stylegan2.Generator` needs; field names follow NVIDIA's kwargs."""

    z_dim: int                              # latent z width
    c_dim: int                              # class-label width, 0 = unconditional
    w_dim: int                              # intermediate latent w width
    img_resolution: int                     # output size, a power of two >= 4
    img_channels: int                       # output colour channels
    mapping: MappingConfig = field(default_factory=MappingConfig)  # mapping-network hyperparameters
    channel_base: int = 32768               # channels at resolution r = min(channel_base // r, channel_max)
    channel_max: int = 512                  # cap on channels of any block
    num_fp16_res: int = 4                   # blocks at the N highest resolutions were trained in FP16
    architecture: str = "skip"              # 'orig', 'skip' or 'resnet'
    resample_filter: tuple = (1, 3, 3, 1)   # 1-D taps of the up/down-sampling low-pass filter
    conv_clamp: float | None = 256          # clamp conv outputs to +-X, None = no clamp
    fused_modconv_default: bool | str = True  # True, False or 'inference_only' (fused in eval mode)
    kernel_size: int = 3                    # conv kernel of the synthesis layers
    use_noise: bool = True                  # per-layer noise inputs present
    activation: str = "lrelu"               # activation of the synthesis layers

    def __post_init__(self):
        _check_fields(self, _STYLEGAN2_RULES)
        _check_mapping(self)
        if self.img_resolution & (self.img_resolution - 1):
            raise CheckpointError(f"StyleGAN2 img_resolution must be a power of two >= 4, got {self.img_resolution}.")

    @property
    def kind(self) -> str:
        return "stylegan2"

    def to_dict(self) -> dict:
        """JSON-safe dict (with 'kind') that `config_from_dict` turns back into an equal config."""
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class StyleGAN3Config:
    """Everything `eqviz.networks.stylegan3.Generator` needs; field names follow NVIDIA's kwargs."""

    z_dim: int                              # latent z width
    c_dim: int                              # class-label width, 0 = unconditional
    w_dim: int                              # intermediate latent w width
    img_resolution: int                     # output size
    img_channels: int                       # output colour channels
    mapping: MappingConfig = field(default_factory=lambda: MappingConfig(num_layers=2))  # mapping hyperparameters
    channel_base: float = 32768             # channels of layer i = rint(min(channel_base / 2 / cutoff_i, channel_max))
    channel_max: int = 512                  # cap on channels of any layer
    num_layers: int = 14                    # synthesis layers, not counting ToRGB
    num_critical: int = 2                   # final layers sampled critically (cutoff = Nyquist)
    first_cutoff: float = 2                 # cutoff frequency of the first layer
    first_stopband: float = 2 ** 2.1        # minimum stopband of the first layer
    last_stopband_rel: float = 2 ** 0.3     # minimum stopband of the last layer, relative to its cutoff
    margin_size: int = 10                   # extra samples around the image in the non-critical layers
    output_scale: float = 0.25              # multiplier on the ToRGB output
    num_fp16_res: int = 4                   # layers sampled above img_resolution / 2**N were trained in FP16
    conv_kernel: int = 3                    # conv kernel (1 for StyleGAN3-R)
    filter_size: int = 6                    # low-pass taps per resampling factor
    lrelu_upsampling: int = 2               # oversampling around the leaky ReLU
    use_radial_filters: bool = False        # radially symmetric down filters (StyleGAN3-R)
    conv_clamp: float | None = 256          # clamp layer outputs to +-X, None = no clamp
    magnitude_ema_beta: float = 0.999       # decay of the input-magnitude EMA (training only)

    def __post_init__(self):
        _check_fields(self, _STYLEGAN3_RULES)
        _check_mapping(self)
        if self.num_critical >= self.num_layers:
            raise CheckpointError(f"The checkpoint's num_critical ({self.num_critical}) must be below its num_layers "
                                  f"({self.num_layers}).")

    @property
    def kind(self) -> str:
        # train.py's --cfg=stylegan3-r sets both; either one marks the rotation-equivariant config.
        return "stylegan3-r" if self.use_radial_filters or self.conv_kernel == 1 else "stylegan3-t"

    def to_dict(self) -> dict:
        """JSON-safe dict (with 'kind') that `config_from_dict` turns back into an equal config."""
        return {"kind": self.kind, **dataclasses.asdict(self)}


GeneratorConfig = StyleGAN2Config | StyleGAN3Config


# ---- The schema: every field's type and range, checked before a value is used or printed -----
# Ranges are generous (NVIDIA's released models sit well inside them); what a config costs in
# memory is checked separately (eqviz.networks.sizing). bool is never taken for a number.

def _whole(low: int, high: int):
    def check(name, value):
        if isinstance(value, np.integer):
            value = int(value)
        if type(value) is not int:
            raise CheckpointError(f"The checkpoint's {name} is {short_text(value)}, not a whole number.")
        if not low <= value <= high:
            raise CheckpointError(f"The checkpoint's {name} is {value}, outside the range {low} to {high} eqviz reads.")
        return value
    return check


def _real(low: float, high: float, low_open: bool = False):
    def check(name, value):
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        if type(value) not in (int, float) or not math.isfinite(value):
            raise CheckpointError(f"The checkpoint's {name} is {short_text(value)}, not a finite number.")
        if value < low or value > high or (low_open and value == low):
            raise CheckpointError(f"The checkpoint's {name} is {value}, outside the range {low:g} to {high:g} eqviz "
                                  "reads.")
        return value
    return check


def _flag(name, value):
    if isinstance(value, np.bool_):
        value = bool(value)
    if type(value) is not bool:
        raise CheckpointError(f"The checkpoint's {name} is {short_text(value)}, not True or False.")
    return value


def _choice(*options):
    def check(name, value):
        if not (isinstance(value, str) and value in options):
            raise CheckpointError(f"The checkpoint's {name} is {short_text(value)}; expected one of "
                                  f"{', '.join(map(repr, options))}.")
        return value
    return check


def _optional(check_value):
    def check(name, value):
        return None if value is None else check_value(name, value)
    return check


def _taps(name, value):
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 16:
        raise CheckpointError(f"The checkpoint's {name} is {short_text(value)}, not a list of 1 to 16 filter taps.")
    return tuple(_real(-1e6, 1e6)(name, v) for v in value)


def _fused_modconv(name, value):
    if isinstance(value, np.bool_):
        value = bool(value)
    if value is True or value is False or (isinstance(value, str) and value == "inference_only"):
        return value
    raise CheckpointError(f"The checkpoint's {name} is {short_text(value)}, not True, False or 'inference_only'.")


_WIDTH = _whole(1, 16384)
_COMMON_RULES = {
    "z_dim": _whole(0, 16384), "c_dim": _whole(0, 100_000), "w_dim": _WIDTH,
    "img_resolution": _whole(4, 16384), "img_channels": _whole(1, 16),
    "channel_max": _whole(1, 65536), "num_fp16_res": _whole(0, 32),
    "conv_clamp": _optional(_real(0, 1e30, low_open=True)),
}
_MAPPING_RULES = {
    "num_layers": _whole(1, 64), "embed_features": _optional(_WIDTH), "layer_features": _optional(_WIDTH),
    "activation": _choice(*ACTIVATIONS), "lr_multiplier": _real(0, 1e6, low_open=True),
    "w_avg_beta": _optional(_real(0, 1)),
}
_STYLEGAN2_RULES = {
    **_COMMON_RULES, "channel_base": _whole(1, 1 << 26), "architecture": _choice("orig", "skip", "resnet"),
    "resample_filter": _taps, "fused_modconv_default": _fused_modconv, "kernel_size": _whole(1, 15),
    "use_noise": _flag, "activation": _choice(*ACTIVATIONS),
}
_STYLEGAN3_RULES = {
    **_COMMON_RULES, "channel_base": _real(0, 1 << 26, low_open=True), "num_layers": _whole(1, 256),
    "num_critical": _whole(0, 255), "first_cutoff": _real(0, 1e6, low_open=True),
    "first_stopband": _real(0, 1e6, low_open=True), "last_stopband_rel": _real(0, 1e3, low_open=True),
    "margin_size": _whole(0, 4096), "output_scale": _real(-1e6, 1e6), "conv_kernel": _whole(1, 15),
    "filter_size": _whole(1, 64), "lrelu_upsampling": _whole(1, 16), "use_radial_filters": _flag,
    "magnitude_ema_beta": _real(0, 1),
}


def _check_fields(config, rules: dict) -> None:
    """Checks every field against `rules`, storing the plain Python value (numpy scalars as
    unpickled kwargs may hold become numbers, so to_dict() is JSON-safe)."""
    for f in dataclasses.fields(config):
        if f.name in rules:
            object.__setattr__(config, f.name, rules[f.name](f.name, getattr(config, f.name)))


def _check_mapping(config) -> None:
    mapping = config.mapping
    if isinstance(mapping, Mapping):
        object.__setattr__(config, "mapping", MappingConfig(**checked_kwargs(mapping, "mapping")))
    elif not isinstance(mapping, MappingConfig):
        raise CheckpointError(f"The checkpoint's mapping settings are {short_text(mapping)}, not a dict.")


def checked_kwargs(kwargs, where: str) -> dict:
    """A plain dict copy of saved kwargs, whose keys must be short names."""
    if not isinstance(kwargs, Mapping):
        raise CheckpointError(f"The checkpoint's {where} kwargs are {short_text(kwargs)}, not a dict.")
    for key in kwargs:
        if not (isinstance(key, str) and key.isidentifier() and len(key) <= 64):
            raise CheckpointError(f"The checkpoint's {where} kwargs have the key {short_text(key)}, which is not a "
                                  "setting name.")
    return dict(kwargs)


# ---- NVIDIA's kwargs, per dialect, with the class defaults that apply when a kwarg is absent -------
_COMMON_KEYS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
_SG2_MAPPING_KEYS = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier", "w_avg_beta"}
_SG3_MAPPING_KEYS = {"num_layers", "lr_multiplier", "w_avg_beta"}
_SG2_SYNTHESIS_KEYS = {
    "channel_base", "channel_max", "num_fp16_res",                                  # SynthesisNetwork
    "architecture", "resample_filter", "conv_clamp", "fused_modconv_default",       # SynthesisBlock
    "kernel_size", "use_noise", "activation",                                       # SynthesisLayer
}
# Memory layout during FP16 training only; accepted so such checkpoints load, without effect here.
_SG2_IGNORED_KEYS = {"fp16_channels_last"}
_SG3_SYNTHESIS_KEYS = {f.name for f in dataclasses.fields(StyleGAN3Config)} - set(_COMMON_KEYS) - {"mapping"}
# stylegan2-ada-pytorch's classes default to no clamp, no FP16, and fuse whenever evaluating in FP32.
_ADA_DEFAULTS = {"conv_clamp": None, "num_fp16_res": 0, "fused_modconv_default": "inference_only"}


def config_from_init_kwargs(kind: str, init_kwargs: Mapping) -> GeneratorConfig:
    """Config for a Generator constructed by NVIDIA's code with `init_kwargs`.

    Args:
        kind: 'stylegan2' (stylegan2-ada-pytorch or stylegan3's networks_stylegan2), 'stylegan3',
            or 'stylegan3-t' / 'stylegan3-r' (then checked against what the kwargs describe).
        init_kwargs: the Generator's saved `_init_kwargs`.
    Raises:
        CheckpointError: an unknown or missing kwarg, or a kind that does not fit.
    """
    kwargs = checked_kwargs(init_kwargs, "Generator")
    missing = [k for k in _COMMON_KEYS if k not in kwargs]
    if missing:
        raise CheckpointError(f"The checkpoint's Generator kwargs lack {', '.join(missing)}; "
                              "it is not a StyleGAN generator.")
    common = {k: kwargs.pop(k) for k in _COMMON_KEYS}
    mapping_kwargs = kwargs.pop("mapping_kwargs", None)
    mapping_kwargs = {} if mapping_kwargs is None else checked_kwargs(mapping_kwargs, "mapping")
    if kind == "stylegan2":
        return _stylegan2_config(common, mapping_kwargs, kwargs)
    if kind in ("stylegan3", "stylegan3-t", "stylegan3-r"):
        config = _stylegan3_config(common, mapping_kwargs, kwargs)
        if kind != "stylegan3" and kind != config.kind:
            raise CheckpointError(f"The checkpoint is labelled {kind} but its kwargs describe a "
                                  f"{config.kind} generator.")
        return config
    raise CheckpointError(f"Unknown generator kind {kind!r}; expected 'stylegan2' or 'stylegan3'.")


def config_from_dict(d: Mapping) -> GeneratorConfig:
    """Inverse of `to_dict()` (e.g. after a JSON round trip)."""
    d = checked_kwargs(d, "saved config")
    kind = d.pop("kind", None)
    cls = StyleGAN2Config if kind == "stylegan2" else StyleGAN3Config if kind in KINDS else None
    if cls is None:
        raise CheckpointError(f"Unknown generator kind {short_text(kind)} in the saved config; "
                              f"expected one of {', '.join(KINDS)}.")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise CheckpointError(f"The saved {kind} config has unknown field {unknown[0]!r}; "
                              "it was written by a newer eqviz.")
    config = cls(**d)
    if config.kind != kind:
        raise CheckpointError(f"The saved config says {kind} but its fields describe a {config.kind} generator.")
    return config


def _stylegan2_config(common: dict, mapping_kwargs: dict, kwargs: dict) -> StyleGAN2Config:
    nested = kwargs.pop("synthesis_kwargs", None)
    if nested is not None:  # stylegan2-ada-pytorch dialect
        _reject_unknown(kwargs, set(), "Generator")
        synthesis = {**_ADA_DEFAULTS, **checked_kwargs(nested, "synthesis")}
    else:
        synthesis = kwargs
    _reject_unknown(synthesis, _SG2_SYNTHESIS_KEYS | _SG2_IGNORED_KEYS, "StyleGAN2 synthesis")
    _reject_unknown(mapping_kwargs, _SG2_MAPPING_KEYS, "StyleGAN2 mapping")
    synthesis = {k: v for k, v in synthesis.items() if k not in _SG2_IGNORED_KEYS}
    if "channel_base" in synthesis:
        synthesis["channel_base"] = _channel_base(synthesis["channel_base"], need_int=True)
    return StyleGAN2Config(**common, mapping=MappingConfig(**mapping_kwargs), **synthesis)


def _stylegan3_config(common: dict, mapping_kwargs: dict, kwargs: dict) -> StyleGAN3Config:
    _reject_unknown(kwargs, _SG3_SYNTHESIS_KEYS, "StyleGAN3 synthesis")
    _reject_unknown(mapping_kwargs, _SG3_MAPPING_KEYS, "StyleGAN3 mapping")
    if "channel_base" in kwargs:
        kwargs["channel_base"] = _channel_base(kwargs["channel_base"], need_int=False)
    mapping = MappingConfig(**{"num_layers": 2, **mapping_kwargs})
    return StyleGAN3Config(**common, mapping=mapping, **kwargs)


def _reject_unknown(kwargs: Mapping, known: set, where: str) -> None:
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise CheckpointError(
            f"The checkpoint's {where} kwargs include {unknown[0]!r}, which eqviz does not know; "
            "this generator variant is not supported.")


def _channel_base(value, need_int: bool):
    """32768, 32768.0 and the TF-era fraction 1.0 / 0.5 all mean a channel base of 32768 / 16384."""
    value = float(_real(0, 1 << 26, low_open=True)("channel_base", value))
    if 0 < value <= 1:
        value *= FULL_CHANNEL_BASE
    if value <= 0 or (need_int and value != int(value)):
        raise CheckpointError(f"The checkpoint's channel_base {value!r} is not a positive whole number.")
    return int(value) if value == int(value) else value
