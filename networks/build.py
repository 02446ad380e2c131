"""Builds the generator a config describes (weights freshly initialised; load a state dict after)."""
import torch

from networks.config import GeneratorConfig, StyleGAN2Config, StyleGAN3Config


def build_generator(config: GeneratorConfig) -> torch.nn.Module:
    """A `networks.stylegan2.Generator` or `networks.stylegan3.Generator` in eval mode, on the CPU."""
    if isinstance(config, StyleGAN2Config):
        from networks.stylegan2 import Generator
    elif isinstance(config, StyleGAN3Config):
        from networks.stylegan3 import Generator
    else:
        raise TypeError(f"build_generator needs a StyleGAN2Config or StyleGAN3Config, got {type(config).__name__}")
    return Generator(config).eval().requires_grad_(False)
