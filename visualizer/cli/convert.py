"""`eqviz convert`: any supported checkpoint -> eqviz's .safetensors (loads without pickle)."""
import argparse
from pathlib import Path

from eqviz.cli.arguments import add_max_memory_argument, existing_checkpoint, fetch_downloads, max_memory, output_file
from eqviz.errors import InvalidArgument

HELP = "Convert an NVIDIA .pkl (PyTorch or TensorFlow) into eqviz's pickle-free .safetensors format."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="IN", help="checkpoint to convert (.pkl or .safetensors)")
    parser.add_argument("target", metavar="OUT", help="output file, ending in .safetensors")
    parser.add_argument("--which", choices=("G_ema", "G"), default="G_ema",
                        help="generator of a training snapshot to convert (default G_ema)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_max_memory_argument(parser)


def run(args) -> int:
    existing_checkpoint(args.source, "source")
    target = Path(args.target)
    if target.suffix != ".safetensors":
        raise InvalidArgument(f"the output must end in .safetensors, got {target.name}", "target")
    output_file(target, args.overwrite, "target", inputs=[args.source])  # before the (possibly long) load
    memory = max_memory(args)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.networks import load_generator, save_generator

    G = load_generator(args.source, which=args.which, max_memory=memory)
    save_generator(G, target)
    print(f"wrote {target} ({G.config.kind}, {G.img_resolution}x{G.img_resolution})")
    return 0
