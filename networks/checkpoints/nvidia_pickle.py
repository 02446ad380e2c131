"""NVIDIA's PyTorch generators (stylegan3 and stylegan2-ada-pytorch pickles) as config + weights.

A generator in these pickles is a tree of persistent objects (see safe_unpickler.PersistentObject):
the top one holds the constructor kwargs (`_init_kwargs`), every one holds its own parameters and
buffers. Both repositories name the top class "Generator", so the kind is read off the sub-modules:
StyleGAN3's synthesis network starts with a SynthesisInput, StyleGAN2's is made of SynthesisBlocks.
"""
from eqviz.networks.config import GeneratorConfig, config_from_init_kwargs
from eqviz.errors import CheckpointError
from eqviz.networks.checkpoints.safe_unpickler import PersistentObject
from eqviz.untrusted.messages import short_text

GENERATOR_CLASS = "Generator"

# NVIDIA's Generator.__init__ positional parameters (both repositories), for `_init_args`.
_POSITIONAL_KWARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")


def family(generator: PersistentObject) -> str:
    """'stylegan2' or 'stylegan3' (T vs R is in the kwargs; config_from_init_kwargs tells them apart)."""
    names = {d.class_name for d in generator.descendants()}
    if "SynthesisInput" in names:
        return "stylegan3"
    if "SynthesisBlock" in names:
        return "stylegan2"
    raise CheckpointError("the Generator in this pickle has neither StyleGAN3 (SynthesisInput) nor StyleGAN2 "
                          "(SynthesisBlock) layers; eqviz loads only StyleGAN2 and StyleGAN3 generators")


def init_kwargs(generator: PersistentObject) -> dict:
    """The kwargs the Generator was constructed with, positional arguments folded in by name."""
    state = generator.checked_state()
    args = state.get("_init_args")
    args = () if args is None else args
    kwargs = state.get("_init_kwargs")
    if not isinstance(kwargs, dict) or not isinstance(args, (tuple, list)) or len(args) > len(_POSITIONAL_KWARGS):
        raise CheckpointError("the Generator in this pickle has no readable constructor arguments; the file is "
                              "damaged or was not written by NVIDIA's training code")
    return {**dict(zip(_POSITIONAL_KWARGS, args)), **kwargs}


def generator_spec(generator: PersistentObject) -> tuple[GeneratorConfig, dict]:
    """(config, state-dict tensors) for one persistent Generator; builds nothing."""
    if generator.class_name != GENERATOR_CLASS:
        raise CheckpointError(f"expected a Generator network but found {short_text(generator.class_name)}; eqviz "
                              "loads only StyleGAN2 and StyleGAN3 generators")
    config = config_from_init_kwargs(family(generator), init_kwargs(generator))
    return config, generator.state_tensors()
