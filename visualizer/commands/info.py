"""`eqviz info`: what a checkpoint holds, without rendering anything."""
import argparse
import dataclasses
import json

HELP = "Show a checkpoint's generator (kind, resolution, latent sizes, parameters) and what else it holds."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="NVIDIA .pkl (PyTorch or TensorFlow) or eqviz .safetensors")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args) -> int:
    from networks import inspect_checkpoint

    info = inspect_checkpoint(args.checkpoint)
    if args.json:
        # default=str: training_set_kwargs may hold values JSON has no type for.
        print(json.dumps(dataclasses.asdict(info), indent=2, default=str))
    else:
        print("\n".join(info.lines()))
    return 0
