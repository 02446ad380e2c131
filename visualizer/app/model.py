"""The loaded checkpoint as the UI sees it: plain facts, no torch objects the main thread could touch."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

import eqviz.networks
from eqviz.networks.checkpoints.checkpoint_file import check_regular_file
from eqviz.assets import DEMO_CHECKPOINT

DEMO_LABEL = "demo (random weights)"


@dataclass(frozen=True)
class ModelInfo:
    path: str
    label: str                    # file name, or the demo's honest label
    kind: str                     # 'stylegan2' | 'stylegan3-t' | 'stylegan3-r'
    resolution: int
    img_channels: int
    z_dim: int
    w_dim: int
    c_dim: int
    num_ws: int
    num_params: int
    device: str
    backend: str                  # active filter backend, e.g. "cuda kernels" / "PyTorch (CPU)"
    supports_input_transform: bool
    layer_names: tuple[str, ...] = field(default_factory=tuple)  # synthesis layers a view can show
    preview_resolutions: tuple[int, ...] = ()  # lower resolutions the generator can stop at (cheap previews)

    @property
    def summary(self) -> str:
        return (f"{self.kind}, {self.resolution}x{self.resolution}, z {self.z_dim} / w {self.w_dim} / "
                f"c {self.c_dim}, {self.num_ws} ws, {self.num_params:,} parameters")


def model_label(path: str | Path) -> str:
    path = Path(path)
    if path.resolve() == DEMO_CHECKPOINT:
        return DEMO_LABEL
    return path.name


def viewable_layers(G) -> tuple[str, ...]:
    """Names (relative to G.synthesis) of the modules whose output is a feature map worth showing:
    StyleGAN3's input and L* layers; StyleGAN2's blocks' conv0 / conv1 / torgb."""
    names = []
    for name, module in G.synthesis.named_children():
        if name.startswith("b") and name[1:].isdigit():
            names += [f"{name}.{child}" for child, _ in module.named_children()
                      if child in ("conv0", "conv1", "torgb")]
        elif name == "input" or name.startswith("L"):
            names.append(name)
    return tuple(names)


def backend_description(device: str) -> str:
    """The filter backend the ops will use on `device` (from eqviz.cuda_ops, which owns that decision)."""
    from eqviz.cuda_ops.backend_status import describe_backend
    return str(describe_backend(torch.device(device)))


def load_model(path: str | Path, device: str, max_memory: int | None = None) -> tuple[torch.nn.Module, ModelInfo]:
    """Load a checkpoint for rendering; every failure is a CheckpointError with one sentence. The
    memory guard is the loader's (max_memory: bytes, None for the machine's default), as on the CLI."""
    path = Path(path).expanduser()
    check_regular_file(path)  # says "a named pipe", "a device", "a folder" or "does not exist"
    G = eqviz.networks.load_generator(str(path), device=device, max_memory=max_memory)
    G.eval().requires_grad_(False)
    return G, describe_generator(G, path, device)


def describe_generator(G, path: str | Path, device: str) -> ModelInfo:
    return ModelInfo(
        path=str(path), label=model_label(path), kind=str(G.kind), resolution=int(G.img_resolution),
        img_channels=int(G.img_channels), z_dim=int(G.z_dim), w_dim=int(G.w_dim), c_dim=int(G.c_dim),
        num_ws=int(G.num_ws), num_params=sum(t.numel() for t in G.state_dict().values()),
        device=str(device), backend=backend_description(device),
        supports_input_transform=bool(getattr(G, "supports_input_transform", False)),
        layer_names=viewable_layers(G),
        preview_resolutions=tuple(r for r in getattr(G.synthesis, "preview_resolutions", ()) if r < G.img_resolution))
