"""Opening any supported checkpoint: recognise the file, read it safely, build our generator.

Three formats reach the same place, a (config, state-dict tensors) pair:
  * NVIDIA PyTorch pickles (stylegan3, stylegan2-ada-pytorch): snapshots or bare generators;
  * NVIDIA's legacy TensorFlow pickles (StyleGAN2 / StyleGAN2-ADA): a (G, D, Gs) tuple;
  * eqviz's .safetensors (eqviz.networks.checkpoints.safe_format).
The generator is then built from the config and its weights copied with strict key and shape
checks. Discriminators and augmentation pipes are never built; they are listed as SkippedNetworks.
"""
import dataclasses
import re
import struct
from pathlib import Path

import numpy as np
import torch

from eqviz.devices import check_device
from eqviz.networks.checkpoints import nvidia_pickle, safe_format, tf_pickle
from eqviz.networks.build import build_generator
from eqviz.errors import CheckpointError, EqvizError, first_line
from eqviz.downloads.fetch import local_checkpoint
from eqviz.networks.checkpoints.checkpoint_file import check_regular_file, read_regular_file
from eqviz.networks.checkpoints.safe_unpickler import PersistentObject, TFNetwork, load_pickle_file
from eqviz.networks.memory_guard import check_memory
from eqviz.networks.sizing import check_generator_memory
from eqviz.untrusted.messages import short_text

GENERATOR_NAMES = ("G_ema", "G")

# dtypes generator weights may be stored in; complex, integer and bool weights are refused.
WEIGHT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
MAX_SETTING_TEXT = 4096  # characters of a training-set setting (a dataset path)

FORMAT_LABELS = {
    "nvidia-pickle": "NVIDIA PyTorch pickle",
    "tensorflow-pickle": "NVIDIA TensorFlow pickle (legacy)",
    "safetensors": "eqviz safetensors",
}

# Leading bytes of files people pick by mistake, to say what they picked.
_OTHER_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a zip archive (a dataset, or a torch.save file)",
    b"\x1f\x8b": "a gzip archive",
    b"\x93NUMPY": "a numpy .npy array",
}


@dataclasses.dataclass(frozen=True)
class SkippedNetwork:
    """A network the snapshot holds that eqviz does not build (a discriminator, an augment pipe)."""

    name: str        # key in the snapshot, e.g. 'D'
    class_name: str  # the class it was saved as, e.g. 'Discriminator'


@dataclasses.dataclass(frozen=True)
class GeneratorWeights:
    """A generator already read as config + state-dict tensors (eqviz's own format)."""

    config: object   # StyleGAN2Config | StyleGAN3Config
    tensors: dict    # state-dict key -> tensor


@dataclasses.dataclass
class Checkpoint:
    """What a file holds, read but not built: generator entries are still inert data."""

    path: Path
    file_format: str                   # a FORMAT_LABELS key
    generators: dict                   # 'G_ema' / 'G' -> PersistentObject | TFNetwork | GeneratorWeights
    skipped: list                      # SkippedNetworks
    training_set_kwargs: dict | None   # the dataset settings a training snapshot records
    others: dict = dataclasses.field(default_factory=dict)  # the skipped networks by name, still inert data


@dataclasses.dataclass(frozen=True)
class CheckpointInfo:
    """Summary of a checkpoint for `eqviz info` and the app's model panel."""

    path: str
    file_format: str                  # human-readable, see FORMAT_LABELS
    kind: str                         # 'stylegan2', 'stylegan3-t' or 'stylegan3-r'
    img_resolution: int
    img_channels: int
    z_dim: int
    w_dim: int
    c_dim: int
    num_ws: int
    param_count: int                  # every tensor of the generator's state dict, buffers included
    supports_input_transform: bool    # StyleGAN3 can be translated/rotated through its input
    generators: tuple                 # generator entries present, e.g. ('G_ema', 'G')
    skipped: tuple                    # SkippedNetworks (never built)
    training_set_kwargs: dict | None
    config: dict                      # the generator config, JSON-safe

    @property
    def kind_label(self) -> str:
        return {"stylegan2": "StyleGAN2", "stylegan3-t": "StyleGAN3-T", "stylegan3-r": "StyleGAN3-R"}[self.kind]

    def lines(self) -> list[str]:
        """The summary as 'label: value' lines."""
        out = [
            f"file: {self.path}",
            f"format: {self.file_format}",
            f"generator: {self.kind_label}, {self.img_resolution}x{self.img_resolution}, {self.img_channels} channels",
            f"latents: z_dim={self.z_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}",
            f"classes: {self.c_dim if self.c_dim else 'none (unconditional)'}",
            f"parameters: {self.param_count:,} (parameters and buffers)",
            f"input transform (translate/rotate): {'yes' if self.supports_input_transform else 'no'}",
            f"generators in file: {', '.join(self.generators)}",
        ]
        for net in self.skipped:
            out.append(f"also holds: {net.name} ({net.class_name}, not loaded)")
        if self.training_set_kwargs:
            keys = ("path", "resolution", "use_labels", "max_size", "xflip")
            summary = ", ".join(f"{k}={self.training_set_kwargs[k]!r}" for k in keys if k in self.training_set_kwargs)
            out.append(f"training set: {summary}")
        return out


# ---------------------------------------------------------------------------------------------

def sniff_format(path: Path) -> str:
    """'pickle' or 'safetensors', from the leading bytes; anything else is a CheckpointError.
    Only regular files are opened (a named pipe would block, a device never end)."""
    size = check_regular_file(path).st_size
    head = read_regular_file(path, head=16)
    if not head:
        raise CheckpointError(f"{path} is empty; re-download or re-export the checkpoint")
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and 2 <= struct.unpack("<Q", head[:8])[0] <= size - 8:
        return "safetensors"
    for magic, what in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise CheckpointError(f"{path} is {what}, not a checkpoint; pass an NVIDIA .pkl or an eqviz .safetensors file")
    raise CheckpointError(f"{path} is not a checkpoint eqviz knows; pass an NVIDIA StyleGAN2/StyleGAN3 .pkl or an "
                          "eqviz .safetensors file")


def _describe(value) -> str:
    if isinstance(value, PersistentObject):
        return value.class_name if isinstance(value.class_name, str) else "network"
    if isinstance(value, TFNetwork):
        return value.name
    return type(value).__name__


def _plain_settings(settings: dict) -> dict:
    """A training snapshot's dataset settings, which `eqviz info` prints: every value must be a
    plain number, flag or short string (NVIDIA writes nothing else there); anything else is refused
    before it is printed, since its repr could be huge, deep or self-referential."""
    out = {}
    for key, value in settings.items():
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            value = value.item()
        if not (isinstance(key, str) and len(key) <= 64):
            raise CheckpointError(f"the snapshot's training-set settings have the key {short_text(key)}; the file is "
                                  "damaged or crafted")
        if not (value is None or type(value) in (bool, int, float)
                or (type(value) is str and len(value) <= MAX_SETTING_TEXT)):
            raise CheckpointError(f"the snapshot's training-set setting {key!r} is {short_text(value)}, not a number, "
                                  "flag or path; the file is damaged or crafted")
        out[key] = value
    return out


def _from_pickle(path: Path, data) -> Checkpoint:
    """Sorts an unpickled object into generators and skipped networks, by the layouts NVIDIA writes."""
    if isinstance(data, tuple) and len(data) == 3 and all(isinstance(net, TFNetwork) for net in data):
        tf_G, tf_D, tf_Gs = data
        return Checkpoint(path, "tensorflow-pickle", {"G_ema": tf_Gs, "G": tf_G},
                          [SkippedNetwork("D", _describe(tf_D))], None, {"D": tf_D})
    if isinstance(data, TFNetwork):
        return Checkpoint(path, "tensorflow-pickle", {"G_ema": data}, [], None)
    if isinstance(data, PersistentObject):
        if data.class_name != nvidia_pickle.GENERATOR_CLASS:
            raise CheckpointError(f"{path} holds a single {short_text(data.class_name)} network, not a generator")
        return Checkpoint(path, "nvidia-pickle", {"G_ema": data}, [], None)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is a pickle of {short_text(data)}, not a StyleGAN checkpoint")
    names = [name for name in data if isinstance(name, str) and len(name) <= 64]
    generators = {name: data[name] for name in GENERATOR_NAMES if data.get(name) is not None}
    others = {name: data[name] for name in names
              if name not in GENERATOR_NAMES and isinstance(data[name], (PersistentObject, TFNetwork))}
    skipped = [SkippedNetwork(name, _describe(value)) for name, value in others.items()]
    if not generators:
        keys = ", ".join(names[:8]) + (" ..." if len(data) > 8 else "") if names else "nothing by a usable name"
        raise CheckpointError(f"{path} holds no generator (it contains {keys}); pass a snapshot with G_ema")
    training_set = data.get("training_set_kwargs")
    kind = "tensorflow-pickle" if any(isinstance(g, TFNetwork) for g in generators.values()) else "nvidia-pickle"
    try:
        settings = _plain_settings(training_set) if isinstance(training_set, dict) else None
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return Checkpoint(path, kind, generators, skipped, settings, others)


def read_checkpoint(path, max_memory: int | None = None) -> Checkpoint:
    """Reads any supported file into a Checkpoint without building a network.

    Args:
        path: an NVIDIA .pkl (PyTorch or legacy TensorFlow) or an eqviz .safetensors file; a URL or a
            published model's name is fetched first (eqviz.downloads) and read like any local file.
        max_memory: bytes the file may take in memory (None: a share of this machine's memory).
    """
    path = local_checkpoint(path)
    file_format = sniff_format(path)
    size = path.stat().st_size
    check_memory(f"reading {path} ({size:,} bytes)", size, max_memory)
    if file_format == "safetensors":
        weights = GeneratorWeights(*safe_format.read_generator(path))
        return Checkpoint(path, "safetensors", {"G_ema": weights}, [], None)
    return _from_pickle(path, load_pickle_file(path))


def _generator_spec(entry, path: Path):
    """(config, tensors, constructor-owned key pattern) for one generator entry of a Checkpoint."""
    try:
        if isinstance(entry, PersistentObject):
            return (*nvidia_pickle.generator_spec(entry), None)
        if isinstance(entry, TFNetwork):
            return (*tf_pickle.generator_spec(entry), tf_pickle.CONSTRUCTOR_BUFFERS)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    if isinstance(entry, GeneratorWeights):
        return entry.config, entry.tensors, None
    raise CheckpointError(f"{path}: the generator entry is a {type(entry).__name__}, not a network")


def _key_text(key) -> str:
    """A weight name from the file for a message: as is when it is a short string."""
    return key if isinstance(key, str) and len(key) <= 120 else short_text(key)


def copy_weights(G: torch.nn.Module, tensors: dict, source: str, constructor_owned: re.Pattern | None = None) -> None:
    """Copies `tensors` into G; every key must exist on both sides (except constructor-owned
    buffers the file does not carry) with the same shape."""
    target = G.state_dict()
    missing = [k for k in target if k not in tensors and not (constructor_owned and constructor_owned.fullmatch(k))]
    unexpected = [k for k in tensors if k not in target]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")  # our names
        if unexpected:
            more = " ..." if len(unexpected) > 3 else ""
            parts.append(f"unexpected {', '.join(map(_key_text, unexpected[:3]))}{more}")
        raise CheckpointError(f"{source}: the weights do not fit the {G.config.kind} architecture the file declares "
                              f"({'; '.join(parts)}); the file is damaged or from an unsupported variant")
    for key, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: weight {_key_text(key)} is {short_text(value)}, not a tensor; the file is "
                                  "damaged")
        if value.dtype not in WEIGHT_DTYPES:
            dtype = str(value.dtype).replace("torch.", "")
            raise CheckpointError(f"{source}: weight {_key_text(key)} is stored as {dtype}; StyleGAN weights are "
                                  "floating point, so the file is damaged or crafted")
        if tuple(value.shape) != tuple(target[key].shape):
            raise CheckpointError(f"{source}: weight {key} has shape {list(value.shape)} but the declared "
                                  f"architecture needs {list(target[key].shape)}; the file is damaged or mislabelled")
    with torch.no_grad():
        for key, value in tensors.items():
            target[key].copy_(value)


def check_declared_size(config, tensors: dict, source, max_memory: int | None = None) -> None:
    """Refuses an architecture before it is built: over the memory limit (MemoryLimitError), or
    far bigger than the weights the file holds (every parameter must come from the file, apart
    from a few filters some formats leave to the constructor)."""
    file_bytes = Path(source).stat().st_size if Path(source).is_file() else 0
    memory = check_generator_memory(config, max_memory, source=str(source), file_bytes=file_bytes)
    held = sum(t.numel() for t in tensors.values() if isinstance(t, torch.Tensor))
    if memory.parameters > 2 * held + 100_000:
        raise CheckpointError(f"{source}: the {config.kind} architecture the file declares has {memory.parameters:,} "
                              f"parameters but the file holds only {held:,} weights; it is damaged or crafted")


def _build(checkpoint: Checkpoint, which: str, max_memory: int | None = None) -> torch.nn.Module:
    if which not in GENERATOR_NAMES:
        raise EqvizError(f"which must be 'G_ema' or 'G', got {which!r}")
    if which not in checkpoint.generators:
        raise CheckpointError(f"{checkpoint.path} holds no {which} (it has {', '.join(checkpoint.generators)}); "
                              "load G_ema instead")
    config, tensors, constructor_owned = _generator_spec(checkpoint.generators[which], checkpoint.path)
    check_declared_size(config, tensors, checkpoint.path, max_memory)
    try:
        G = build_generator(config)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError, OverflowError, MemoryError) as exc:
        # The settings come from the file: nonsense there (negative sizes, ...) is the file's fault.
        raise CheckpointError(f"{checkpoint.path}: cannot build the {config.kind} generator its settings describe "
                              f"({first_line(exc, with_type=True)})") from None
    copy_weights(G, tensors, str(checkpoint.path), constructor_owned)
    return G


def load_generator(path, device="cpu", which: str = "G_ema", max_memory: int | None = None) -> torch.nn.Module:
    """Our generator from any supported checkpoint, in eval mode, float32, without gradients.

    Args:
        path: an NVIDIA .pkl (PyTorch or legacy TensorFlow) or an eqviz .safetensors file.
        device: where the generator goes ('cpu', 'cuda', 'cuda:1', ...).
        which: 'G_ema' (the averaged generator everyone samples from) or 'G' (the training one).
        max_memory: bytes the file and the declared network (parameters plus one frame's
            activations) may need; None: a share of this machine's memory (memory_guard.default_max_memory).
    Raises:
        CheckpointError: the file is missing, unsafe, damaged, or not a supported generator;
            memory_guard.MemoryLimitError (a CheckpointError naming the max_memory argument) when it is over max_memory.
    """
    device = check_device(device)
    G = _build(read_checkpoint(path, max_memory), which, max_memory)
    return G.to(device=device, dtype=torch.float32).eval().requires_grad_(False)


def inspect_checkpoint(path, max_memory: int | None = None) -> CheckpointInfo:
    """What a checkpoint holds; builds G_ema on the CPU to make sure it really loads
    (`max_memory` as for load_generator)."""
    checkpoint = read_checkpoint(path, max_memory)
    G = _build(checkpoint, "G_ema", max_memory)
    return CheckpointInfo(
        path=str(checkpoint.path),
        file_format=FORMAT_LABELS[checkpoint.file_format],
        kind=G.config.kind,
        img_resolution=G.img_resolution,
        img_channels=G.img_channels,
        z_dim=G.z_dim,
        w_dim=G.w_dim,
        c_dim=G.c_dim,
        num_ws=G.num_ws,
        param_count=sum(t.numel() for t in G.state_dict().values()),
        supports_input_transform=bool(getattr(G, "supports_input_transform", False)),
        generators=tuple(checkpoint.generators),
        skipped=tuple(checkpoint.skipped),
        training_set_kwargs=checkpoint.training_set_kwargs,
        config=G.config.to_dict(),
    )
