"""`eqviz compare CKPT [CKPT ...] --out DIR`: FID, KID, EQ-T, EQ-T frac and EQ-R side by side, with pictures."""
import argparse

from eqviz.cli.arguments import (MAX_BATCH, MAX_SAMPLES, add_fid_arguments, check_count, check_fid_arguments, check_kid_counts,
                                 check_seed, existing_checkpoint, fetch_downloads, existing_path, needs_data, parse_metrics)
from eqviz.core.seeds import parse_seeds
from eqviz.errors import InvalidArgument
from eqviz.metrics.names import DATA_METRICS, EQ_METRICS
from eqviz.report.files import check_out_dir
from eqviz.video.sticking_spec import MAX_SAMPLES as MAX_EXPOSURE_SAMPLES

MAX_GRID_SEEDS = 64  # the report's sample grid shows every seed

HELP = "Compare checkpoints: the study's table (FID, KID, EQ-T, EQ-T frac, EQ-R) and an HTML report with pictures."

EXAMPLES = """examples:
  eqviz compare stylegan2.pkl stylegan3-t.pkl stylegan3-r.pkl --data ffhqu-256.zip --num-samples 50000 \\
      --inception weights-inception-2015-12-05-6726825d.pth --device cuda --out study/      (the paper's Table 2)
  eqviz compare sg3t.pkl sg3r.pkl --metrics eqt_int,eqr --num-samples 500 --out quick/   (no real data: EQ only)
Writes DIR/results.json (every number, interval, setting), DIR/table.md and DIR/report.html (self-contained).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoints", metavar="CHECKPOINT", nargs="+", help="checkpoints to compare (.pkl or .safetensors)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for results.json, table.md and report.html")
    parser.add_argument("--data", metavar="DATA", help="real images for FID/KID: dataset zip or image folder")
    parser.add_argument("--metrics", help="comma-separated subset of fid, kid, eqt_int, eqt_frac, eqr "
                                          "(default: all; without --data the three EQ metrics)")
    parser.add_argument("--num-samples", type=int, default=1000, help="samples per metric (default 1000; the papers use 50000)")
    parser.add_argument("--seeds", default="0-7", help="seeds of the sample grid and long exposures; the first one's rotation strip (default 0-7)")
    parser.add_argument("--exposure-samples", type=int, default=64, help="latents averaged per long exposure (default 64)")
    parser.add_argument("--batch", type=int, default=8, help="samples per batch (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="metric sampling seed (default 0)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda (default cpu)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier report in DIR")
    add_fid_arguments(parser)


def check_arguments(args) -> tuple:
    """Everything that can be checked before torch is loaded; returns (metrics, seeds)."""
    for checkpoint in args.checkpoints:
        existing_checkpoint(checkpoint, "checkpoints")
    if args.metrics:
        metrics = parse_metrics(args.metrics)
    else:
        metrics = DATA_METRICS + EQ_METRICS if args.data else EQ_METRICS
    if needs_data(metrics) and not args.data:
        raise InvalidArgument("fid and kid compare with real images: give a dataset zip or an image folder", "data")
    if args.data:
        existing_path(args.data, "data")
    seeds = parse_seeds(args.seeds)
    check_count(len(seeds), "seeds", "seeds in the sample grid", MAX_GRID_SEEDS)
    check_count(args.num_samples, "num_samples", "samples", MAX_SAMPLES)
    check_count(args.exposure_samples, "exposure_samples", "exposure samples", MAX_EXPOSURE_SAMPLES)
    check_count(args.batch, "batch", "samples per batch", MAX_BATCH)
    check_seed(args.seed)
    check_fid_arguments(args)
    check_kid_counts(metrics, args.num_samples, args.num_real)
    check_out_dir(args.out, args.overwrite)  # refuse before hours of work, not after
    return metrics, tuple(seeds)


def run(args) -> int:
    metrics, seeds = check_arguments(args)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.cli.progress import ProgressDisplay
    from eqviz.devices import check_device
    from eqviz.report import CompareSpec, run_comparison, write_comparison
    from eqviz.report.table import markdown_table

    check_device(args.device)
    spec = CompareSpec(checkpoints=list(args.checkpoints), data=args.data, metrics=metrics, num_samples=args.num_samples,
                       inception=args.inception, pipeline=args.pipeline, num_real=args.num_real,
                       resize_data=args.resize_data, bootstrap_replicates=args.bootstrap, seeds=seeds,
                       exposure_samples=args.exposure_samples, batch_size=args.batch, seed=args.seed, device=args.device,
                       use_cache=not args.no_cache)
    displays = {}

    def progress(label, done, total):
        if label not in displays:
            for d in displays.values():
                d.close()
            displays[label] = ProgressDisplay(label, unit="image" if label.endswith("pictures") else "sample")
        displays[label].update(done, total)

    try:
        comparison = run_comparison(spec, progress=progress)
    finally:
        for d in displays.values():
            d.close()
    for path in write_comparison(comparison, args.out, overwrite=args.overwrite):
        print(f"wrote {path}")
    print(markdown_table(comparison))
    return 0
