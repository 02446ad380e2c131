"""eqviz's own checkpoint format: one .safetensors file with the weights and the architecture.

safetensors holds only tensors and a string-to-string metadata table, so reading it can never run
code. The metadata carries the generator config as JSON, enough to rebuild the network with no
pickle involved.
"""
import json
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from eqviz.atomic_io import atomic_output
from eqviz.networks.config import GeneratorConfig, config_from_dict
from eqviz.errors import CheckpointError, first_line
from eqviz.networks.checkpoints.checkpoint_file import read_regular_file
from eqviz.untrusted.messages import short_text

FORMAT_NAME = "eqviz-generator"
FORMAT_VERSION = 1
MAX_CONFIG_CHARS = 65536  # the JSON architecture description is about 700 characters
MAX_TENSORS = 4096        # a 1024x1024 StyleGAN2 generator has about 400 state-dict tensors
MAX_HEADER_BYTES = 4 << 20  # its safetensors header (the tensor table and the config) is about 70 kB


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
    _check_header_size(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            config = _described_config(path, metadata)
            keys = f.keys()
            if len(keys) > MAX_TENSORS:  # counted before any is read: reading each costs time and memory
                raise CheckpointError(f"{path} holds {len(keys):,} tensors; a generator has a few hundred (at most "
                                      f"{MAX_TENSORS:,} are read), so the file is damaged or crafted")
            tensors = {key: f.get_tensor(key) for key in keys}
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a readable .safetensors file ({first_line(exc)}); convert the original "
                              "checkpoint again (save_generator)") from None
    return config, tensors


def _check_header_size(path) -> None:
    """The header (the JSON table of tensors) is parsed whole by safetensors: its declared length is
    checked first, so a table of a million tiny tensors costs nothing to refuse."""
    head = read_regular_file(path, head=8)
    if len(head) == 8 and struct.unpack("<Q", head)[0] > MAX_HEADER_BYTES:
        raise CheckpointError(f"{path} declares a {struct.unpack('<Q', head)[0]:,}-byte table of tensors; a "
                              f"generator's is under 100 kB (at most {MAX_HEADER_BYTES:,} bytes are read), so the "
                              "file is damaged or crafted")


def _described_config(path, metadata: dict) -> GeneratorConfig:
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is a .safetensors file without eqviz's generator description; only "
                              "files eqviz writes (save_generator) can be loaded")
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(f"{path} uses eqviz generator format version {short_text(version)}, but this eqviz "
                              f"reads version {FORMAT_VERSION}; update eqviz or re-convert the checkpoint")
    text = metadata.get("config")
    if not isinstance(text, str) or len(text) > MAX_CONFIG_CHARS:
        raise CheckpointError(f"{path} has no readable architecture description; convert the original "
                              "checkpoint again (save_generator)")
    try:
        config = config_from_dict(json.loads(text))
    except RecursionError:
        raise CheckpointError(f"{path} has an architecture description nested too deeply to be one; the file is "
                              "damaged or crafted") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} has a damaged architecture description ({first_line(exc)}); convert the "
                              "original checkpoint again (save_generator)") from None
    if config.kind != metadata.get("kind"):
        raise CheckpointError(f"{path} says it holds a {short_text(metadata.get('kind'))} generator but describes a "
                              f"{config.kind}; convert the original checkpoint again (save_generator)")
    return config
