"""Builds the generator a config describes (weights freshly initialised; load a state dict after)."""
import torch

from eqviz.networks.config import GeneratorConfig, StyleGAN2Config, StyleGAN3Config


def build_generator(config: GeneratorConfig) -> torch.nn.Module:
    """A `eqviz.networks.stylegan2.Generator` or `eqviz.networks.stylegan3.Generator` in eval mode, on the CPU."""
    if isinstance(config, StyleGAN2Config):
        from eqviz.networks.stylegan2 import Generator
    elif isinstance(config, StyleGAN3Config):
        from eqviz.networks.stylegan3 import Generator
    else:
        raise TypeError(f"build_generator needs a StyleGAN2Config or StyleGAN3Config, got {type(config).__name__}")
    return Generator(config).eval().requires_grad_(False)
