"""`eqviz info`: what a checkpoint holds, and which filter-op path would render it here."""
import argparse
import dataclasses
import json

from eqviz.cli.arguments import add_max_memory_argument, existing_checkpoint, fetch_downloads, max_memory

HELP = "Show a checkpoint's generator (kind, resolution, latent sizes, parameters), what else it holds, and the filter-op backend."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="NVIDIA .pkl (PyTorch or TensorFlow) or eqviz .safetensors")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    add_max_memory_argument(parser)


def run(args) -> int:
    existing_checkpoint(args.checkpoint)
    memory = max_memory(args)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.cuda_ops.backend_status import describe_backend
    from eqviz.networks import inspect_checkpoint

    info = inspect_checkpoint(args.checkpoint, max_memory=memory)
    backend = describe_backend()
    if args.json:
        print(json.dumps({**dataclasses.asdict(info), "backend": backend}, indent=2))
    else:
        print("\n".join([*info.lines(), backend]))
    return 0
