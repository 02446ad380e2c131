"""`eqviz fid A B`: FID (and KID) between two of: a checkpoint, an image folder, a dataset zip."""
import argparse
import json

from eqviz.cli.arguments import (MAX_BATCH, MAX_SAMPLES, add_fid_arguments, check_count, check_fid_arguments, check_kid_counts,
                                 check_seed, existing_path, fetch_downloads, fid_options, output_file, parse_metrics)
from eqviz.metrics.names import DATA_LABELS

HELP = "Measure FID (and KID) between a checkpoint, an image folder or a dataset zip and another."

EXAMPLES = """examples:
  eqviz fid ffhq.zip stylegan3-t.pkl --inception weights-inception-2015-12-05-6726825d.pth   (fid50k_full)
  eqviz fid real/ fake/ --pipeline pytorch-fid          (what `python -m pytorch_fid real/ fake/` computes)
  eqviz fid ffhq.zip sg3t.pkl --num-samples 1000 --metrics fid,kid --json fid.json   (spot check, fid1k_full)
  torchrun --nproc_per_node=4 -m eqviz.cli.main fid ffhq.zip sg3t.pkl --device cuda
Without --inception FILE or EQVIZ_INCEPTION, torch-fidelity's Inception weights are downloaded once (sha256 checked).
Real-data statistics are cached under $EQVIZ_CACHE (default ~/.cache/eqviz), keyed by content.
"""


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
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    add_fid_arguments(parser)


def parse_num_samples(text: str):
    """'50000' -> 50000; protocol names pass through for the library to check."""
    return int(text) if text.strip().isdigit() else text.strip()


def check_arguments(args) -> tuple:
    """Everything that can be checked before torch is loaded; returns the metrics."""
    metrics = parse_metrics(args.metrics, DATA_LABELS)
    existing_path(args.a, "a")
    existing_path(args.b, "b")
    num_samples = parse_num_samples(args.num_samples)
    if isinstance(num_samples, int):
        check_count(num_samples, "num_samples", "generated images", MAX_SAMPLES)
    check_count(args.batch, "batch", "images per batch", MAX_BATCH)
    check_seed(args.seed)
    check_fid_arguments(args)
    check_kid_counts(metrics, num_samples, args.num_real)
    if args.json:
        output_file(args.json, args.overwrite, "json", inputs=[args.a, args.b])  # found now, not after the features are computed
    return metrics


def run(args) -> int:
    metrics = check_arguments(args)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.atomic_io import write_text
    from eqviz.cli.progress import ProgressDisplay
    from eqviz.metrics.fid.compute import compute_fid_kid
    from eqviz.metrics.processes import process_group_from_env
    from eqviz.devices import check_device

    check_device(args.device)

    with process_group_from_env(args.device) as (rank, world_size, device):
        with ProgressDisplay("fid features", unit="image", enabled=rank == 0) as display:
            result = compute_fid_kid(args.a, args.b, metrics=metrics, num_samples=parse_num_samples(args.num_samples),
                                     batch_size=args.batch, seed=args.seed, device=device, progress=display.update,
                                     **fid_options(args))
        if rank == 0:
            print(result.summary())
            if args.json:
                write_text(args.json, json.dumps(result.to_json(), indent=1) + "\n", overwrite=args.overwrite)
                print(f"wrote {args.json}")
    return 0
