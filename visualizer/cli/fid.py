"""`eqviz fid A B`: FID (and KID) between two of: a checkpoint, an image folder, a dataset zip."""
import argparse
import json
from pathlib import Path

from eqviz.devices import check_device
from eqviz.errors import EqvizError

HELP = "Measure FID (and KID) between a checkpoint, an image folder or a dataset zip and another."

EXAMPLES = """examples:
  eqviz fid ffhq.zip stylegan3-t.pkl --inception weights-inception-2015-12-05-6726825d.pth   (fid50k_full)
  eqviz fid real/ fake/ --pipeline pytorch-fid          (what `python -m pytorch_fid real/ fake/` computes)
  eqviz fid ffhq.zip sg3t.pkl --num-samples 1000 --metrics fid,kid --json fid.json   (spot check, fid1k_full)
  torchrun --nproc_per_node=4 -m eqviz.cli.main fid ffhq.zip sg3t.pkl --device cuda
The Inception weights are never downloaded: pass --inception FILE or set EQVIZ_INCEPTION.
Real-data statistics are cached under $EQVIZ_CACHE (default ~/.cache/eqviz), keyed by content.
"""


def add_fid_arguments(parser: argparse.ArgumentParser) -> None:
    """The FID options `eqviz fid`, `eqviz metrics` and `eqviz compare` share."""
    parser.add_argument("--inception", metavar="FILE", help="FID Inception weights (torch-fidelity's or pytorch-fid's .pth; default $EQVIZ_INCEPTION)")
    parser.add_argument("--pipeline", choices=("tf", "pytorch-fid"), default="tf",
                        help="tf: TF-1 resize, comparable with NVIDIA's/TF's FIDs (default); pytorch-fid: comparable with pytorch-fid's")
    parser.add_argument("--num-real", type=int, metavar="N", help="real images to use (default all: NVIDIA's _full protocols)")
    parser.add_argument("--resize-data", action="store_true",
                        help="resize real images to the generator's resolution (Lanczos); NVIDIA resizes nothing, so by default a mismatch is refused")
    parser.add_argument("--bootstrap", type=int, default=10, metavar="B", help="bootstrap replicates for the FID's uncertainty (default 10; 0: none)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached real-data statistics")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("a", metavar="A", help="reference: dataset zip, image folder or checkpoint")
    parser.add_argument("b", metavar="B", help="compared: checkpoint, image folder or dataset zip")
    parser.add_argument("--metrics", default="fid", help="comma-separated subset of fid, kid (default fid)")
    parser.add_argument("--num-samples", default="50000", metavar="N",
                        help="generated images: a number or fid50k_full (default 50000 = fid50k_full)")
    parser.add_argument("--batch", type=int, default=32, help="images per batch (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="generated sample i draws from (seed, i) (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda (default cpu)")
    parser.add_argument("--json", metavar="FILE", help="also write every number and setting to FILE")
    add_fid_arguments(parser)


def parse_num_samples(text: str):
    """'50000' -> 50000; protocol names pass through for the library to check."""
    return int(text) if text.strip().isdigit() else text.strip()


def check_json_target(path) -> None:
    if path and not Path(path).resolve().parent.is_dir():
        raise EqvizError(f"folder {Path(path).resolve().parent} for --json does not exist; create it first")


def fid_options(args) -> dict:
    """The library arguments of the shared FID options."""
    return dict(inception=args.inception, pipeline=args.pipeline, num_real=args.num_real, resize_data=args.resize_data,
                bootstrap_replicates=args.bootstrap, use_cache=not args.no_cache)


def run(args) -> int:
    from eqviz.atomic_io import write_text
    from eqviz.cli.progress import ProgressDisplay
    from eqviz.cli.metrics import parse_metrics
    from eqviz.metrics.fid.compute import METRIC_LABELS, compute_fid_kid
    from eqviz.metrics.processes import process_group_from_env

    metrics = parse_metrics(args.metrics, METRIC_LABELS)
    check_device(args.device)
    check_json_target(args.json)
    with process_group_from_env(args.device) as (rank, world_size, device):
        with ProgressDisplay("fid features", unit="image", enabled=rank == 0) as display:
            result = compute_fid_kid(args.a, args.b, metrics=metrics, num_samples=parse_num_samples(args.num_samples),
                                     batch_size=args.batch, seed=args.seed, device=device, progress=display.update,
                                     **fid_options(args))
        if rank == 0:
            print(result.summary())
            if args.json:
                write_text(args.json, json.dumps(result.to_json(), indent=1) + "\n")
                print(f"wrote {args.json}")
    return 0
