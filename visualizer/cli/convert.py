"""`eqviz convert`: any supported checkpoint -> eqviz's .safetensors (loads without pickle)."""
import argparse
from pathlib import Path

from eqviz.cli.memory_option import add_max_memory_argument, max_memory
from eqviz.errors import EqvizError

HELP = "Convert an NVIDIA .pkl (PyTorch or TensorFlow) into eqviz's pickle-free .safetensors format."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="IN", help="checkpoint to convert (.pkl or .safetensors)")
    parser.add_argument("target", metavar="OUT", help="output file, ending in .safetensors")
    parser.add_argument("--which", choices=("G_ema", "G"), default="G_ema",
                        help="generator of a training snapshot to convert (default G_ema)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_max_memory_argument(parser)


def run(args) -> int:
    from eqviz.atomic_io import check_target
    from eqviz.networks import load_generator, save_generator

    target = Path(args.target)
    if target.suffix != ".safetensors":
        raise EqvizError(f"OUT must end in .safetensors, got {target.name}")
    if Path(args.source).resolve() == target.resolve():
        raise EqvizError("IN and OUT are the same file; choose another output name")
    check_target(target, args.overwrite)  # before the (possibly long) load
    G = load_generator(args.source, which=args.which, max_memory=max_memory(args))
    save_generator(G, target)
    print(f"wrote {target} ({G.config.kind}, {G.img_resolution}x{G.img_resolution})")
    return 0
