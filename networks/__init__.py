"""StyleGAN2 / StyleGAN3 generators (and the discriminator) in plain PyTorch: their configs, layers,
filter design and memory estimate; `checkpoints/` reads them safely from foreign files."""
from eqviz.errors import CheckpointError, EqvizError

__all__ = ["load_generator", "load_discriminator", "save_generator", "inspect_checkpoint", "CheckpointError", "EqvizError"]

# The loaders pull in torch; resolving them on first use keeps `import eqviz.errors` (the CLI's
# first import) light.
_LAZY = {
    "load_generator": ("eqviz.networks.checkpoints.loading", "load_generator"),
    "inspect_checkpoint": ("eqviz.networks.checkpoints.loading", "inspect_checkpoint"),
    "load_discriminator": ("eqviz.networks.checkpoints.discriminator_loading", "load_discriminator"),
    "save_generator": ("eqviz.networks.checkpoints.safe_format", "save_generator"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'eqviz.networks' has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module), attr)
