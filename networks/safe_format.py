"""eqviz's own checkpoint format: one .safetensors file with the weights and the architecture.

safetensors holds only tensors and a string-to-string metadata table, so reading it can never run
code. The metadata carries the generator config as JSON, enough to rebuild the network with no
pickle involved.
"""
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from eqviz.atomic_io import atomic_output
from eqviz.networks.config import GeneratorConfig, config_from_dict
from eqviz.errors import CheckpointError

FORMAT_NAME = "eqviz-generator"
FORMAT_VERSION = 1


def save_generator(G: torch.nn.Module, path) -> Path:
    """Writes G's state dict and config to `path` (.safetensors) atomically; returns the path."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path} should end in .safetensors, the format eqviz writes")
    if not path.parent.is_dir():
        raise CheckpointError(f"folder {path.parent} does not exist; create it first or choose another output path")
    tensors = {key: value.detach().to("cpu", torch.float32).contiguous().clone()
               for key, value in G.state_dict().items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "kind": G.config.kind,
        "config": json.dumps(G.config.to_dict()),
    }
    with atomic_output(path) as tmp:  # a partial name beside the target, renamed when complete
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_generator(path) -> tuple[GeneratorConfig, dict]:
    """(config, state-dict tensors) from a file written by `save_generator`."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable .safetensors file ({exc}); re-export it with "
                              "`eqviz convert`") from None
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is a .safetensors file without eqviz's generator description; only "
                              "files written by `eqviz convert` can be loaded")
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(f"{path} uses eqviz generator format version {version!r}, but this eqviz reads "
                              f"version {FORMAT_VERSION}; update eqviz or re-convert the checkpoint")
    try:
        config = config_from_dict(json.loads(metadata["config"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} has a damaged architecture description ({exc}); re-convert the "
                              "checkpoint with `eqviz convert`") from None
    if config.kind != metadata.get("kind"):
        raise CheckpointError(f"{path} says it holds a {metadata.get('kind')} generator but describes a "
                              f"{config.kind}; re-convert the checkpoint with `eqviz convert`")
    return config, tensors
