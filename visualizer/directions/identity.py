"""A generator's identity (architecture, sizes, a hash of every weight) so that directions computed for
one model are never applied to another by mistake.

The hash covers the state dict's names, shapes and float32 bytes, so the same network read from an
NVIDIA pickle or from `eqviz convert`'s safetensors file has the same identity.
"""
import dataclasses
import hashlib
import weakref

import numpy as np
import torch

_HASHES: "weakref.WeakKeyDictionary[torch.nn.Module, str]" = weakref.WeakKeyDictionary()


@dataclasses.dataclass(frozen=True)
class ModelIdentity:
    kind: str           # 'stylegan2', 'stylegan3-t' or 'stylegan3-r'
    resolution: int
    w_dim: int
    num_ws: int
    weights_sha256: str

    def describe(self) -> str:
        return f"{self.kind} {self.resolution}x{self.resolution} model (weights {self.weights_sha256[:12]})"


def weights_sha256(G: torch.nn.Module) -> str:
    """sha256 over the sorted state dict (name, shape, float32 bytes); cached per generator object."""
    cached = _HASHES.get(G)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    for name, tensor in sorted(G.state_dict().items()):
        array = np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())
        digest.update(f"{name}:{list(array.shape)};".encode())
        digest.update(array.tobytes())
    _HASHES[G] = digest.hexdigest()
    return _HASHES[G]


def model_identity(G) -> ModelIdentity:
    return ModelIdentity(kind=str(G.kind), resolution=int(G.img_resolution), w_dim=int(G.w_dim),
                         num_ws=int(G.num_ws), weights_sha256=weights_sha256(G))
