"""Opening the discriminator `D` of an NVIDIA training snapshot, through the generators' safe reader.

The file is read by `eqviz.networks.checkpoints.loading.read_checkpoint` (same format sniffing, same restricted
unpickler); D's saved kwargs become a DiscriminatorConfig and its weights are copied with the same
strict key and shape checks as a generator's. Only PyTorch snapshots carry a usable D: published
models often hold G_ema alone, and eqviz's .safetensors files hold only the generator.
"""
import torch

from eqviz.errors import CheckpointError, first_line
from eqviz.networks.discriminator import Discriminator
from eqviz.networks.discriminator_config import POSITIONAL_KWARGS, discriminator_config, discriminator_tensor_elements
from eqviz.devices import check_device
from eqviz.networks.checkpoints.loading import copy_weights, read_checkpoint
from eqviz.networks.checkpoints.safe_unpickler import PersistentObject

DISCRIMINATOR_CLASS = "Discriminator"


def _from_ada_repository(checkpoint) -> bool:
    """stylegan2-ada-pytorch's Generator nests its synthesis kwargs; its D then has that repo's defaults."""
    G = checkpoint.generators.get("G_ema") or checkpoint.generators.get("G")
    kwargs = G.state.get("_init_kwargs") if isinstance(G, PersistentObject) else None
    return isinstance(kwargs, dict) and "synthesis_kwargs" in kwargs


def _persistent_discriminator(checkpoint) -> PersistentObject:
    path = checkpoint.path
    entry = checkpoint.others.get("D")
    if entry is None and checkpoint.file_format == "safetensors":
        raise CheckpointError(f"{path} is an eqviz .safetensors file, which holds only the generator; use the NVIDIA "
                              "training snapshot (.pkl with a D) it was converted from")
    if entry is None:
        raise CheckpointError(f"{path} holds no discriminator (D); only NVIDIA training snapshots "
                              "(network-snapshot-*.pkl) carry one")
    if not isinstance(entry, PersistentObject):
        raise CheckpointError(f"the discriminator in {path} is a TensorFlow network; eqviz reads discriminators "
                              "from PyTorch snapshots (stylegan3, stylegan2-ada-pytorch) only")
    if entry.class_name != DISCRIMINATOR_CLASS:
        raise CheckpointError(f"D in {path} is a {entry.class_name!r}, not a StyleGAN2 Discriminator")
    return entry


def load_discriminator(path, device="cpu", max_memory: int | None = None) -> torch.nn.Module:
    """Our `eqviz.networks.discriminator.Discriminator` from a snapshot's D, eval mode, float32, no gradients.

    Args:
        path: an NVIDIA PyTorch training snapshot (.pkl holding G, D, G_ema, ...).
        device: where the discriminator goes ('cpu', 'cuda', ...).
        max_memory: bytes the file may take in memory, as for load_generator (None: the machine's share).
    Raises:
        CheckpointError: the file is missing, unsafe or damaged, or holds no usable D.
    """
    device = check_device(device)
    checkpoint = read_checkpoint(path, max_memory)
    entry = _persistent_discriminator(checkpoint)
    args = entry.state.get("_init_args") or ()
    kwargs = entry.state.get("_init_kwargs")
    if not isinstance(kwargs, dict) or not isinstance(args, (tuple, list)) or len(args) > len(POSITIONAL_KWARGS):
        raise CheckpointError(f"{path}: the discriminator has no readable constructor arguments; the file is damaged "
                              "or was not written by NVIDIA's training code")
    try:
        config = discriminator_config({**dict(zip(POSITIONAL_KWARGS, args)), **kwargs},
                                      ada_defaults=_from_ada_repository(checkpoint))
        tensors = entry.state_tensors()
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except RecursionError:  # a pickle can make a module its own sub-module
        raise CheckpointError(f"{path}: the discriminator's sub-modules form a loop; the file is damaged or "
                              "crafted") from None
    declared, held = discriminator_tensor_elements(config), sum(t.numel() for t in tensors.values()
                                                               if isinstance(t, torch.Tensor))
    if declared != held:  # checked before building: a few numbers can declare a network bigger than memory
        raise CheckpointError(f"{path}: the discriminator's settings declare {declared:,} weights but the file holds "
                              f"{held:,}; the file is damaged or crafted")
    try:
        D = Discriminator(config)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError, KeyError) as exc:
        raise CheckpointError(f"{path}: cannot build the discriminator its settings describe "
                              f"({first_line(exc, with_type=True)})") from None
    copy_weights(D, tensors, str(path))
    return D.to(device=device, dtype=torch.float32).eval().requires_grad_(False)
