"""Opening any supported checkpoint: recognise the file, read it safely, build our generator.

Three formats reach the same place, a (config, state-dict tensors) pair:
  * NVIDIA PyTorch pickles (stylegan3, stylegan2-ada-pytorch): snapshots or bare generators;
  * NVIDIA's legacy TensorFlow pickles (StyleGAN2 / StyleGAN2-ADA): a (G, D, Gs) tuple;
  * eqviz's .safetensors (eqviz.networks.safe_format).
The generator is then built from the config and its weights copied with strict key and shape
checks. Discriminators and augmentation pipes are never built; they are listed as SkippedNetworks.
"""
import dataclasses
import re
import struct
from pathlib import Path

import torch

from eqviz.networks import nvidia_pickle, safe_format, tf_pickle
from eqviz.networks.build import build_generator
from eqviz.errors import CheckpointError, EqvizError
from eqviz.networks.safe_unpickler import PersistentObject, TFNetwork, safe_load_pickle

GENERATOR_NAMES = ("G_ema", "G")

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
    """'pickle' or 'safetensors', from the leading bytes; anything else is a CheckpointError."""
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}; check the path")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint; pass the .pkl or .safetensors file inside it")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path} ({exc.strerror}); check its permissions") from None
    size = path.stat().st_size
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
        return value.class_name
    if isinstance(value, TFNetwork):
        return str(value.state.get("name") or "TensorFlow network")
    return type(value).__name__


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
            raise CheckpointError(f"{path} holds a single {data.class_name!r} network, not a generator")
        return Checkpoint(path, "nvidia-pickle", {"G_ema": data}, [], None)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is a pickle of a {type(data).__name__}, not a StyleGAN checkpoint")
    generators = {name: data[name] for name in GENERATOR_NAMES if data.get(name) is not None}
    others = {str(name): value for name, value in data.items()
              if name not in GENERATOR_NAMES and isinstance(value, (PersistentObject, TFNetwork))}
    skipped = [SkippedNetwork(name, _describe(value)) for name, value in others.items()]
    if not generators:
        keys = ", ".join(map(str, data)) or "nothing"
        raise CheckpointError(f"{path} holds no generator (it contains {keys}); pass a snapshot with G_ema")
    training_set = data.get("training_set_kwargs")
    kind = "tensorflow-pickle" if any(isinstance(g, TFNetwork) for g in generators.values()) else "nvidia-pickle"
    return Checkpoint(path, kind, generators, skipped, dict(training_set) if isinstance(training_set, dict) else None,
                      others)


def read_checkpoint(path) -> Checkpoint:
    """Reads any supported file into a Checkpoint without building a network."""
    path = Path(path)
    if sniff_format(path) == "safetensors":
        weights = GeneratorWeights(*safe_format.read_generator(path))
        return Checkpoint(path, "safetensors", {"G_ema": weights}, [], None)
    with open(path, "rb") as f:
        data = safe_load_pickle(f, str(path))
    return _from_pickle(path, data)


def _generator_spec(entry, path: Path):
    """(config, tensors, constructor-owned key pattern) for one generator entry of a Checkpoint."""
    try:
        if isinstance(entry, PersistentObject):
            return (*nvidia_pickle.generator_spec(entry), None)
        if isinstance(entry, TFNetwork):
            return (*tf_pickle.generator_spec(entry), tf_pickle.CONSTRUCTOR_BUFFERS)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except RecursionError:  # a pickle can make a module its own sub-module
        raise CheckpointError(f"{path}: the generator's sub-modules form a loop; the file is damaged or crafted") from None
    if isinstance(entry, GeneratorWeights):
        return entry.config, entry.tensors, None
    raise CheckpointError(f"{path}: the generator entry is a {type(entry).__name__}, not a network")


def copy_weights(G: torch.nn.Module, tensors: dict, source: str, constructor_owned: re.Pattern | None = None) -> None:
    """Copies `tensors` into G; every key must exist on both sides (except constructor-owned
    buffers the file does not carry) with the same shape."""
    target = G.state_dict()
    missing = [k for k in target if k not in tensors and not (constructor_owned and constructor_owned.fullmatch(k))]
    unexpected = [k for k in tensors if k not in target]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}")
        raise CheckpointError(f"{source}: the weights do not fit the {G.config.kind} architecture the file declares "
                              f"({'; '.join(parts)}); the file is damaged or from an unsupported variant")
    for key, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: weight {key} is a {type(value).__name__}, not a tensor; the file is damaged")
        if tuple(value.shape) != tuple(target[key].shape):
            raise CheckpointError(f"{source}: weight {key} has shape {list(value.shape)} but the declared "
                                  f"architecture needs {list(target[key].shape)}; the file is damaged or mislabelled")
    with torch.no_grad():
        for key, value in tensors.items():
            target[key].copy_(value)


def check_device(device) -> torch.device:
    """`device` as a torch.device that exists here; EqvizError otherwise."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise EqvizError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EqvizError("CUDA was requested but no CUDA GPU is available to PyTorch; use --device cpu")
    return device


def _build(checkpoint: Checkpoint, which: str) -> torch.nn.Module:
    if which not in GENERATOR_NAMES:
        raise EqvizError(f"which must be 'G_ema' or 'G', got {which!r}")
    if which not in checkpoint.generators:
        raise CheckpointError(f"{checkpoint.path} holds no {which} (it has {', '.join(checkpoint.generators)}); "
                              "load G_ema instead")
    config, tensors, constructor_owned = _generator_spec(checkpoint.generators[which], checkpoint.path)
    try:
        G = build_generator(config)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as exc:
        # The settings come from the file: nonsense there (negative sizes, ...) is the file's fault.
        raise CheckpointError(f"{checkpoint.path}: cannot build the {config.kind} generator its settings describe "
                              f"({type(exc).__name__}: {str(exc).strip().splitlines()[0]})") from None
    copy_weights(G, tensors, str(checkpoint.path), constructor_owned)
    return G


def load_generator(path, device="cpu", which: str = "G_ema") -> torch.nn.Module:
    """Our generator from any supported checkpoint, in eval mode, float32, without gradients.

    Args:
        path: an NVIDIA .pkl (PyTorch or legacy TensorFlow) or an eqviz .safetensors file.
        device: where the generator goes ('cpu', 'cuda', 'cuda:1', ...).
        which: 'G_ema' (the averaged generator everyone samples from) or 'G' (the training one).
    Raises:
        CheckpointError: the file is missing, unsafe, damaged, or not a supported generator.
    """
    device = check_device(device)
    G = _build(read_checkpoint(path), which)
    return G.to(device=device, dtype=torch.float32).eval().requires_grad_(False)


def inspect_checkpoint(path) -> CheckpointInfo:
    """What a checkpoint holds; builds G_ema on the CPU to make sure it really loads."""
    checkpoint = read_checkpoint(path)
    G = _build(checkpoint, "G_ema")
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
