"""`eqviz sticking`: texture-sticking views (long-exposure averages, central-column stacks) per seed."""
import argparse

from eqviz.cli.arguments import existing_checkpoint, fetch_downloads, output_folder
from eqviz.cli.progress import ProgressDisplay
from eqviz.core.seeds import parse_seeds
from eqviz.video.sticking_spec import STACK_MOTIONS, StickingSpec, check_spec
from eqviz.networks.noise_modes import NOISE_MODES

HELP = "Texture-sticking views (StyleGAN3 paper, fig. 1): long-exposure averages and central-column stack videos."

EXAMPLES = """examples:
  eqviz sticking sg3t.pkl --seeds 0-3 --outdir sticking/
  eqviz sticking sg2.pkl sg3t.pkl sg3r.pkl --seeds 5 --outdir sticking/ --samples 128
outputs per seed: seed<S>_long_exposure.png, seed<S>_column_stack.png, seed<S>_column_stack.mp4,
and sticking_summary.json (high-frequency energy of single images vs long exposures).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="one or more checkpoints, shown side by side")
    parser.add_argument("--seeds", required=True, help="seeds: 5, 0-7 or 1,4,9")
    parser.add_argument("--outdir", required=True, help="output folder (created if missing)")
    d = StickingSpec  # the library's defaults, stated once there
    parser.add_argument("--samples", type=int, default=d.samples, help=f"long exposure: images averaged (default {d.samples})")
    parser.add_argument("--sigma", type=float, default=d.sigma, help=f"long exposure: std of the latent perturbations in Z (default {d.sigma:g})")
    parser.add_argument("--frames", type=int, default=d.frames, help=f"column stack: frames (= stack width in pixels, default {d.frames})")
    parser.add_argument("--distance", type=float, default=d.distance, help=f"column stack: translation over the video in image widths (default {d.distance:g})")
    parser.add_argument("--stack-motion", choices=STACK_MOTIONS, default=d.stack_motion,
                        help="column stack: translate the input, or walk seed -> seed+1 in W; auto walks when a checkpoint has no input transform (StyleGAN2)")
    parser.add_argument("--fps", type=float, default=30.0, help="column-stack video frame rate (default 30)")
    parser.add_argument("--size", type=int, help="panel size in pixels (default: the generator's resolution)")
    parser.add_argument("--psi", type=float, default=1.0, help="truncation psi (default 1)")
    parser.add_argument("--cutoff", type=int, help="truncate only the first N ws")
    parser.add_argument("--noise-mode", choices=NOISE_MODES, default="const", help="StyleGAN2 noise (default const)")
    parser.add_argument("--class", dest="class_idx", type=int, help="class index of a conditional model")
    parser.add_argument("--crf", type=int, default=18, help="H.264 quality, 0 (lossless) to 51 (default 18)")
    parser.add_argument("--batch", type=int, default=d.batch, help=f"images synthesised per call (default {d.batch})")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def run(args) -> int:
    for checkpoint in args.checkpoints:
        existing_checkpoint(checkpoint, "checkpoints")
    seeds = parse_seeds(args.seeds)
    output_folder(args.outdir, "outdir")
    spec = StickingSpec(
        checkpoints=list(args.checkpoints),
        seeds=seeds,
        outdir=args.outdir,
        samples=args.samples,
        sigma=args.sigma,
        frames=args.frames,
        distance=args.distance,
        stack_motion=args.stack_motion,
        fps=args.fps,
        size=args.size,
        psi=args.psi,
        cutoff=args.cutoff,
        noise_mode=args.noise_mode,
        class_idx=args.class_idx,
        crf=args.crf,
        batch=args.batch,
        device=args.device,
        overwrite=args.overwrite,
    )
    check_spec(spec)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    spec.checkpoints = list(args.checkpoints)
    from eqviz.video.sticking import render_sticking

    with ProgressDisplay("sticking", unit="image") as display:
        result = render_sticking(spec, progress=lambda p: display.update(p.done, p.total))
    print(f"column stacks used: {result.stack_motion}")
    for seed, per_model in result.sharpness.items():
        for name, hf in per_model.items():
            ratio = hf["long_exposure"] / hf["single"] if hf["single"] > 0 else float("nan")
            print(f"seed {seed} {name}: long exposure keeps {ratio:.1%} of a single image's high-frequency energy")
    for path in result.files:
        print(f"wrote {path}")
    return 0
