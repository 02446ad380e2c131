"""`eqviz metrics`: EQ-T, EQ-T(frac), EQ-R, FID and KID of a checkpoint, in one process or under torchrun."""
import argparse
import json
from pathlib import Path

from eqviz.cli.fid import add_fid_arguments
from eqviz.cli.memory_option import add_max_memory_argument, max_memory
from eqviz.atomic_io import ensure_writable_folder
from eqviz.cli.progress import ProgressDisplay
from eqviz.devices import check_device
from eqviz.errors import EqvizError
from eqviz.metrics.equivariance.measure import METRIC_LABELS as EQ_LABELS
from eqviz.metrics.fid.compute import METRIC_LABELS as DATA_LABELS
from eqviz.metrics.fid.compute import METRICS as DATA_METRICS  # measured against --data

HELP = "Measure EQ-T, EQ-T frac and EQ-R (PSNRs in dB with 95% bootstrap intervals) and, against --data, FID and KID."

EXAMPLES = """examples:
  eqviz metrics sg3t.pkl --num-samples 1000 --json eq.json
  eqviz metrics sg3r.pkl --metrics eqr --num-samples 50000 --batch 16 --device cuda   (the paper's protocol)
  torchrun --nproc_per_node=4 -m eqviz.cli.main metrics sg3t.pkl --num-samples 50000 --device cuda
  eqviz metrics sg3t.pkl --metrics fid,kid,eqt_int,eqt_frac,eqr --data ffhq.zip --inception INCEPTION.pth --num-samples 50000
Under torchrun the samples are split over the processes; the result equals a single-process run
with the same seed (up to float summation order), and only the first process prints and writes the JSON.
"""

METRIC_LABELS = {**EQ_LABELS, **DATA_LABELS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="StyleGAN3 checkpoint (.pkl or .safetensors)")
    parser.add_argument("--metrics", default="eqt_int,eqt_frac,eqr", help="comma-separated subset of eqt_int, eqt_frac, eqr, fid, kid (default: the three EQ metrics)")
    parser.add_argument("--num-samples", type=int, default=1000, help="samples to average over (default 1000; the paper uses 50000)")
    parser.add_argument("--batch", type=int, default=8, help="samples per batch; changes speed and memory, not the samples drawn (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="sample i draws from (seed, i) (default 0)")
    parser.add_argument("--translate-max", type=float, default=0.125, help="largest translation, in image widths (default 0.125)")
    parser.add_argument("--rotate-max", type=float, default=1.0, help="largest rotation, in half turns (default 1: any angle)")
    parser.add_argument("--json", metavar="FILE", help="also write settings and results (with per-sample PSNRs) to FILE")
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda (default cpu)")
    add_max_memory_argument(parser)
    parser.add_argument("--data", metavar="DATA", help="real images for fid/kid: a dataset zip or an image folder")
    add_fid_arguments(parser)


def parse_metrics(text: str, choices=METRIC_LABELS) -> tuple:
    """A comma-separated list of metric names (as `--metrics` takes it), checked against `choices`."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        raise EqvizError(f"unknown metric {', '.join(unknown) or repr(text)}; choose from {', '.join(choices)}")
    return tuple(dict.fromkeys(names))


def _validate(args) -> tuple:
    metrics = parse_metrics(args.metrics)
    if any(m in DATA_METRICS for m in metrics) and not args.data:
        raise EqvizError("fid and kid compare with real images: pass --data DATASET.zip or --data FOLDER")
    if args.num_samples < 1:
        raise EqvizError(f"--num-samples must be at least 1, got {args.num_samples}")
    if args.batch < 1:
        raise EqvizError(f"--batch must be at least 1, got {args.batch}")
    if args.seed < 0:
        raise EqvizError(f"--seed must be a non-negative integer, got {args.seed}")
    check_device(args.device)
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise EqvizError(f"folder {Path(args.json).resolve().parent} for --json does not exist; create it first")
    if args.json:
        ensure_writable_folder(Path(args.json).resolve().parent)  # found now, not after the sampling
    return metrics


def format_table(result) -> str:
    lines = [f"{'metric':<10} {'PSNR (dB)':>10}   95% interval (dB)"]
    for m, value in result.psnr_db.items():
        lo, hi = result.interval_db[m]
        lines.append(f"{METRIC_LABELS[m]:<10} {value:>10.3f}   [{lo:.3f}, {hi:.3f}]")
    s = result.settings
    lines.append(
        f"{len(result.sample_indices)} samples (seed {s['seed']}, {s['processes']} process(es)), "
        f"{result.elapsed_s:.1f} s. PSNR peak 2, pooled over samples. Interval: {s['interval']}."
    )
    return "\n".join(lines)


def run(args) -> int:
    from eqviz.networks import load_generator
    from eqviz.atomic_io import write_text
    from eqviz.metrics.equivariance.measure import require_input_transform
    from eqviz.metrics.equivariance.run import compute_equivariance
    from eqviz.metrics.processes import process_group_from_env

    metrics = _validate(args)
    eq_metrics = tuple(m for m in metrics if m not in DATA_METRICS)
    data_metrics = tuple(m for m in metrics if m in DATA_METRICS)
    with process_group_from_env(args.device) as (rank, world_size, device):
        G = load_generator(args.checkpoint, device=device, max_memory=max_memory(args))
        payload = {"checkpoint": str(Path(args.checkpoint).resolve())}
        if eq_metrics:
            require_input_transform(G)
            label = "eq sampling" if world_size == 1 else f"eq sampling (process 0 of {world_size})"
            with ProgressDisplay(label, unit="sample", enabled=rank == 0) as display:
                result = compute_equivariance(
                    G,
                    metrics=eq_metrics,
                    num_samples=args.num_samples,
                    batch_size=args.batch,
                    seed=args.seed,
                    translate_max=args.translate_max,
                    rotate_max=args.rotate_max,
                    device=device,
                    progress=display.update,
                )
            if rank == 0:
                print(format_table(result))
            payload.update(result.to_json())
        if data_metrics:
            from eqviz.cli.fid import fid_options
            from eqviz.metrics.fid.compute import compute_fid_kid

            with ProgressDisplay("fid features", unit="image", enabled=rank == 0) as display:
                fid_result = compute_fid_kid(args.data, G, metrics=data_metrics, num_samples=args.num_samples,
                                             batch_size=args.batch, seed=args.seed, device=device,
                                             progress=display.update, **fid_options(args))
            if rank == 0:
                print(fid_result.summary())
            payload["fid_kid"] = fid_result.to_json()
        if rank == 0 and args.json:
            write_text(args.json, json.dumps(payload, indent=1) + "\n")
            print(f"wrote {args.json}")
    return 0
