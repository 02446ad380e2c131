"""Files that ship inside the package: the bundled demo checkpoint."""
from importlib.resources import files
from pathlib import Path

# A small StyleGAN3-T at 256 px with random weights (tools/make_demo_checkpoint.py makes it): what
# `eqviz` opens with no arguments. Installed packages live on disk, so the resource is a real path.
DEMO_CHECKPOINT = Path(str(files(__name__) / "demo_sg3t_256.safetensors")).resolve()
