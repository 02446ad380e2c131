"""`eqviz metrics`: EQ-T, EQ-T(frac), EQ-R, FID and KID of a checkpoint, in one process or under torchrun."""
import argparse
import json
from pathlib import Path

from eqviz.cli.arguments import (MAX_BATCH, MAX_SAMPLES, add_fid_arguments, add_max_memory_argument, check_count,
                                 check_fid_arguments, check_kid_counts, check_seed, existing_checkpoint, existing_path, fetch_downloads, fid_options,
                                 max_memory, needs_data, output_file, parse_metrics)
from eqviz.cli.progress import ProgressDisplay
from eqviz.errors import InvalidArgument
from eqviz.metrics.names import DATA_METRICS, METRIC_LABELS

HELP = "Measure EQ-T, EQ-T frac and EQ-R (PSNRs in dB with 95% bootstrap intervals) and, against --data, FID and KID."

EXAMPLES = """examples:
  eqviz metrics sg3t.pkl --num-samples 1000 --json eq.json
  eqviz metrics sg3r.pkl --metrics eqr --num-samples 50000 --batch 16 --device cuda   (the paper's protocol)
  torchrun --nproc_per_node=4 -m eqviz.cli.main metrics sg3t.pkl --num-samples 50000 --device cuda
  eqviz metrics sg3t.pkl --metrics fid,kid,eqt_int,eqt_frac,eqr --data ffhq.zip --inception INCEPTION.pth --num-samples 50000
Under torchrun the samples are split over the processes; the result equals a single-process run
with the same seed (up to float summation order), and only the first process prints and writes the JSON.
"""

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
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda (default cpu)")
    add_max_memory_argument(parser)
    parser.add_argument("--data", metavar="DATA", help="real images for fid/kid: a dataset zip or an image folder")
    add_fid_arguments(parser)


def check_arguments(args) -> tuple:
    """Everything that can be checked before torch is loaded (the equivariance settings are the
    library's to check); returns the metrics."""
    metrics = parse_metrics(args.metrics)
    existing_checkpoint(args.checkpoint)
    if needs_data(metrics) and not args.data:
        raise InvalidArgument("fid and kid compare with real images: give a dataset zip or an image folder", "data")
    if args.data:
        existing_path(args.data, "data")
    check_count(args.num_samples, "num_samples", "samples", MAX_SAMPLES)
    check_count(args.batch, "batch", "samples per batch", MAX_BATCH)
    check_seed(args.seed)
    check_fid_arguments(args)
    check_kid_counts(metrics, args.num_samples, args.num_real)
    max_memory(args)
    if args.json:
        output_file(args.json, args.overwrite, "json", inputs=[args.checkpoint, args.data])  # found now, not after the sampling
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
    metrics = check_arguments(args)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.atomic_io import write_text
    from eqviz.metrics.equivariance.measure import require_input_transform
    from eqviz.metrics.equivariance.run import compute_equivariance
    from eqviz.metrics.processes import process_group_from_env
    from eqviz.networks import load_generator
    from eqviz.devices import check_device

    check_device(args.device)
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
            from eqviz.metrics.fid.compute import compute_fid_kid
            from eqviz.metrics.fid.sources import GeneratorSamples

            generated = GeneratorSamples(G, Path(args.checkpoint).name, seed=args.seed, device=device)  # named as given
            with ProgressDisplay("fid features", unit="image", enabled=rank == 0) as display:
                fid_result = compute_fid_kid(args.data, generated, metrics=data_metrics, num_samples=args.num_samples,
                                             batch_size=args.batch, seed=args.seed, device=device,
                                             progress=display.update, **fid_options(args))
            if rank == 0:
                print(fid_result.summary())
            payload["fid_kid"] = fid_result.to_json()
        if rank == 0 and args.json:
            write_text(args.json, json.dumps(payload, indent=1) + "\n", overwrite=args.overwrite)
            print(f"wrote {args.json}")
    return 0
