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
from eqviz.networks.untrusted import short_text

FORMAT_NAME = "eqviz-generator"
FORMAT_VERSION = 1
MAX_CONFIG_CHARS = 65536  # the JSON architecture description is about 700 characters


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
    """(config, state-dict tensors) from a file written by `save_generator`; the architecture
    description is checked against the config schema before any tensor is read."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            config = _described_config(path, metadata)
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(f"{path} is not a readable .safetensors file ({first}); re-export it with "
                              "`eqviz convert`") from None
    return config, tensors


def _described_config(path, metadata: dict) -> GeneratorConfig:
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is a .safetensors file without eqviz's generator description; only "
                              "files written by `eqviz convert` can be loaded")
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(f"{path} uses eqviz generator format version {short_text(version)}, but this eqviz "
                              f"reads version {FORMAT_VERSION}; update eqviz or re-convert the checkpoint")
    text = metadata.get("config")
    if not isinstance(text, str) or len(text) > MAX_CONFIG_CHARS:
        raise CheckpointError(f"{path} has no readable architecture description; re-convert the checkpoint with "
                              "`eqviz convert`")
    try:
        config = config_from_dict(json.loads(text))
    except RecursionError:
        raise CheckpointError(f"{path} has an architecture description nested too deeply to be one; the file is "
                              "damaged or crafted") from None
    except (KeyError, ValueError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(f"{path} has a damaged architecture description ({first}); re-convert the "
                              "checkpoint with `eqviz convert`") from None
    if config.kind != metadata.get("kind"):
        raise CheckpointError(f"{path} says it holds a {short_text(metadata.get('kind'))} generator but describes a "
                              f"{config.kind}; re-convert the checkpoint with `eqviz convert`")
    return config
