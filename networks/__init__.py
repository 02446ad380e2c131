"""StyleGAN2 / StyleGAN3 generators in plain PyTorch, and safe loading of their checkpoints."""
from networks.errors import CheckpointError, EqvizError
