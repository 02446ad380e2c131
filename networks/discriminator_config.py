"""Discriminator hyperparameters: a frozen dataclass built from the kwargs NVIDIA saves with `D`.

Both repositories (stylegan3's `networks_stylegan2.Discriminator`, stylegan2-ada-pytorch's
`networks.Discriminator`) construct the same network with the same keyword names; they differ only
in two class defaults (ada: no FP16, no clamp), which matter when a kwarg was left out. Every value
is spelled out in the config, so the architecture never depends on which default applied.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from eqviz.errors import CheckpointError
from eqviz.networks.config import MappingConfig

ARCHITECTURES = ("orig", "skip", "resnet")

# NVIDIA's Discriminator.__init__ positional parameters, for `_init_args`.
POSITIONAL_KWARGS = ("c_dim", "img_resolution", "img_channels")

# stylegan2-ada-pytorch's Discriminator defaults where they differ from stylegan3's.
ADA_DEFAULTS = {"num_fp16_res": 0, "conv_clamp": None}

_BLOCK_KEYS = {"activation", "resample_filter", "fp16_channels_last", "freeze_layers"}
_EPILOGUE_KEYS = {"mbstd_group_size", "mbstd_num_channels", "activation"}
_MAPPING_KEYS = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier"}


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Everything `eqviz.networks.discriminator.Discriminator` needs; names follow NVIDIA's kwargs."""

    c_dim: int                              # class-label width, 0 = unconditional
    img_resolution: int                     # input size, a power of two >= 8
    img_channels: int                       # input colour channels
    architecture: str = "resnet"            # 'orig', 'skip' or 'resnet'
    channel_base: int = 32768               # channels at resolution r = min(channel_base // r, channel_max)
    channel_max: int = 512                  # cap on channels of any block
    num_fp16_res: int = 4                   # blocks trained in FP16 (eqviz always evaluates in float32)
    conv_clamp: float | None = 256          # clamp conv outputs to +-X, None = no clamp
    cmap_dim: int | None = None             # width of the mapped label, None = channels at 4x4
    activation: str = "lrelu"               # activation of every block and of the epilogue
    resample_filter: tuple = (1, 3, 3, 1)   # 1-D taps of the downsampling low-pass filter
    mbstd_group_size: int | None = 4        # minibatch-stddev group, None = the whole batch
    mbstd_num_channels: int = 1             # minibatch-stddev features, 0 = no such layer
    mapping: MappingConfig = field(default_factory=lambda: MappingConfig(w_avg_beta=None))  # label mapping

    def __post_init__(self):
        object.__setattr__(self, "resample_filter", tuple(float(v) for v in self.resample_filter))
        if isinstance(self.mapping, Mapping):
            object.__setattr__(self, "mapping", MappingConfig(**{**self.mapping, "w_avg_beta": None}))
        if self.architecture not in ARCHITECTURES:
            raise CheckpointError(f"Unknown discriminator architecture {self.architecture!r}; "
                                  "expected 'orig', 'skip' or 'resnet'.")
        res = self.img_resolution
        if not isinstance(res, int) or res < 8 or res & (res - 1):
            raise CheckpointError(f"The discriminator's img_resolution must be a power of two >= 8, got {res!r}.")
        if self.c_dim < 0 or self.img_channels < 1 or self.channel_base < 1 or self.channel_max < 1:
            raise CheckpointError("The discriminator's c_dim, img_channels, channel_base or channel_max is out "
                                  "of range; the file is damaged.")

    @property
    def kind(self) -> str:
        return "StyleGAN2 discriminator"

    def channels(self, res: int) -> int:
        """Feature channels at resolution `res` (NVIDIA's channels_dict)."""
        return min(self.channel_base // res, self.channel_max)

    @property
    def block_resolutions(self) -> list[int]:
        """b<res> blocks from the input resolution down to 8; b4 is the epilogue."""
        return [2 ** i for i in range(self.img_resolution.bit_length() - 1, 2, -1)]

    @property
    def label_width(self) -> int:
        """Width of the mapped label the epilogue's output is projected on (0 = unconditional)."""
        if self.c_dim == 0:
            return 0
        return self.channels(4) if self.cmap_dim is None else self.cmap_dim


def discriminator_tensor_elements(config: DiscriminatorConfig) -> int:
    """Elements of the state dict the config's Discriminator will have (parameters and buffers), counted
    from the constructors' formulas without building anything: a file's few numbers can declare a network
    far bigger than the weights it holds, and this is checked before any of it is allocated."""
    taps = len(config.resample_filter) ** 2  # every conv layer and block keeps the 2-D filter as a buffer

    def conv(c_in, c_out, k, bias=True):
        return c_in * c_out * k * k + (c_out if bias else 0) + taps

    total = 0
    for res in config.block_resolutions:
        tmp, out = config.channels(res), config.channels(res // 2)
        total += taps
        if res == config.img_resolution or config.architecture == "skip":
            total += conv(config.img_channels, tmp, 1)
        total += conv(tmp, tmp, 3) + conv(tmp, out, 3)
        if config.architecture == "resnet":
            total += conv(tmp, out, 1, bias=False)
    c4, cmap = config.channels(4), config.label_width
    if config.architecture == "skip":
        total += conv(config.img_channels, c4, 1)
    total += conv(c4 + config.mbstd_num_channels, c4, 3) + (c4 * 16 * c4 + c4) + (c4 * max(cmap, 1) + max(cmap, 1))
    if config.c_dim > 0:
        m = config.mapping
        embed = cmap if m.embed_features is None else m.embed_features
        hidden = cmap if m.layer_features is None else m.layer_features
        widths = [embed] + [hidden] * (m.num_layers - 1) + [cmap]
        total += config.c_dim * embed + embed + sum(a * b + b for a, b in zip(widths, widths[1:]))
    return total


def discriminator_config(init_kwargs: Mapping, ada_defaults: bool = False) -> DiscriminatorConfig:
    """Config for a Discriminator constructed by NVIDIA's code with `init_kwargs`.

    Args:
        init_kwargs: the Discriminator's saved kwargs (positional arguments already folded in).
        ada_defaults: the snapshot comes from stylegan2-ada-pytorch (its class defaults apply).
    Raises:
        CheckpointError: an unknown or missing kwarg.
    """
    kwargs = {**(ADA_DEFAULTS if ada_defaults else {}), **dict(init_kwargs)}
    missing = [k for k in POSITIONAL_KWARGS if k not in kwargs]
    if missing:
        raise CheckpointError(f"The checkpoint's Discriminator kwargs lack {', '.join(missing)}; "
                              "it is not a StyleGAN2 discriminator.")
    block = dict(kwargs.pop("block_kwargs", None) or {})
    epilogue = dict(kwargs.pop("epilogue_kwargs", None) or {})
    mapping = dict(kwargs.pop("mapping_kwargs", None) or {})
    _reject_unknown(block, _BLOCK_KEYS, "block")
    _reject_unknown(epilogue, _EPILOGUE_KEYS, "epilogue")
    _reject_unknown(mapping, _MAPPING_KEYS, "mapping")
    top = {f.name for f in dataclasses.fields(DiscriminatorConfig)} - {"activation", "resample_filter", "mapping",
                                                                       "mbstd_group_size", "mbstd_num_channels"}
    _reject_unknown(kwargs, top, "")
    if block.get("activation", "lrelu") != epilogue.get("activation", "lrelu"):
        raise CheckpointError("The checkpoint's discriminator uses different activations in its blocks and "
                              "epilogue, which eqviz does not support.")
    try:
        return DiscriminatorConfig(
            **{k: _plain(v) for k, v in kwargs.items()},
            activation=block.get("activation", "lrelu"),
            resample_filter=tuple(block.get("resample_filter", (1, 3, 3, 1))),
            mbstd_group_size=_plain(epilogue.get("mbstd_group_size", 4)),
            mbstd_num_channels=_plain(epilogue.get("mbstd_num_channels", 1)),
            mapping=MappingConfig(**{k: _plain(v) for k, v in mapping.items()}, w_avg_beta=None),
        )
    except TypeError as exc:
        raise CheckpointError(f"The checkpoint's Discriminator kwargs are not usable ({exc}); the file is "
                              "damaged.") from None


def _plain(value):
    """numpy scalars (as unpickled kwargs may hold) become Python numbers."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, tuple)) else value


def _reject_unknown(kwargs: Mapping, known: set, where: str) -> None:
    unknown = sorted(map(str, set(kwargs) - known))
    if unknown:
        part = f"{where} " if where else ""
        raise CheckpointError(f"The checkpoint's Discriminator {part}kwargs include {unknown[0]!r}, which eqviz "
                              "does not know; this discriminator variant is not supported.")
