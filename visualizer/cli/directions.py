"""`eqviz directions`: SeFa or GANSpace directions of a checkpoint, saved as eqviz's .npz; and the
`--edit FILE:K=ALPHA,...` flag that `eqviz render` and `eqviz video` share."""
import argparse
from pathlib import Path

from eqviz.core.edits import MAX_ALPHA
from eqviz.errors import EqvizError, InvalidArgument

HELP = "Compute editing directions (SeFa from the style weights, or GANSpace's PCA of W) and save them as .npz."

EXAMPLES = """examples:
  eqviz directions sg3t.pkl --method sefa --out sefa.npz
  eqviz directions sg3t.pkl --method ganspace --num 20 --num-samples 1000000 --out ganspace.npz
  eqviz directions sg2.pkl --method sefa --layers 0-5 --out coarse.npz
  eqviz render sg3t.pkl --seeds 0-3 --edit sefa.npz:0=2,3=-1.5 --outdir out
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="NVIDIA .pkl or eqviz .safetensors")
    parser.add_argument("--method", choices=("sefa", "ganspace"), default="sefa",
                        help="sefa: eigenvectors of the style affines (instant); ganspace: PCA of mapped W (default sefa)")
    parser.add_argument("--num", type=int, default=20, help="directions to keep (default 20)")
    parser.add_argument("--layers", metavar="A-B",
                        help="ws indices A to B (both included) to factorise and edit (default: every synthesis layer; "
                             "StyleGAN3's input ws 0 is left out)")
    parser.add_argument("--num-samples", type=int, default=100_000, help="ganspace: mapped samples (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled z (default 0)")
    parser.add_argument("--out", required=True, help="output .npz")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")


def parse_edit_flag(text: str) -> tuple[str, list[tuple[int, float | None]]]:
    """'dirs.npz:0=2,3=-1.5' -> ('dirs.npz', [(0, 2.0), (3, -1.5)]); 'dirs.npz:4' -> ('dirs.npz', [(4, None)])."""
    path, sep, terms = text.rpartition(":")
    if not sep or not path or not terms:
        raise EqvizError(f"--edit '{text}' needs FILE:K=ALPHA[,K=ALPHA...], e.g. dirs.npz:0=2,3=-1.5")
    chosen = []
    try:
        for term in terms.split(","):
            k, eq, alpha = term.partition("=")
            chosen.append((int(k), float(alpha) if eq else None))
    except ValueError:
        raise EqvizError(f"--edit '{text}': cannot read '{terms}'; write direction=alpha pairs such as 0=2,3=-1.5") from None
    for k, alpha in chosen:
        if alpha is not None and not abs(alpha) <= MAX_ALPHA:  # NaN too
            raise InvalidArgument(f"'{text}': strength {alpha:g} of direction {k} is outside +-{MAX_ALPHA:g} standard "
                                  "deviations of W", "edit")
    return path, chosen


def edits_from_flags(flags, G, default_alpha: float | None = None) -> list:
    """Edits for every --edit flag; a term without '=ALPHA' takes `default_alpha` (refused when None)."""
    from eqviz.directions.edits import edit_from
    from eqviz.directions.files import load_directions

    edits = []
    for flag in flags or []:
        path, chosen = parse_edit_flag(flag)
        directions = load_directions(path, G)
        for k, alpha in chosen:
            if alpha is None and default_alpha is None:
                raise EqvizError(f"--edit '{flag}': give each direction a strength, e.g. {path}:{k}=2")
            edits.append(edit_from(directions, k, default_alpha if alpha is None else alpha))
    return edits


def run(args) -> int:
    from eqviz.cli.arguments import MAX_SAMPLES, check_count, check_seed, existing_checkpoint, fetch_downloads, output_file

    existing_checkpoint(args.checkpoint)
    if Path(args.out).suffix != ".npz":
        raise InvalidArgument(f"{args.out}: direction files end in .npz, e.g. dirs.npz", "out")
    output_file(args.out, args.overwrite, "out", inputs=[args.checkpoint])  # before the work, not after it
    check_seed(args.seed)
    check_count(args.num_samples, "num_samples", "samples", MAX_SAMPLES)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.directions.files import save_directions
    from eqviz.directions.ganspace import ganspace
    from eqviz.directions.layers import format_layer_range, parse_layer_range
    from eqviz.directions.sefa import sefa
    from eqviz.cli.progress import ProgressDisplay
    from eqviz.networks import load_generator

    layers = parse_layer_range(args.layers) if args.layers else None
    G = load_generator(args.checkpoint, device=args.device)
    if args.method == "sefa":
        found = sefa(G, num=args.num, layers=layers, seed=args.seed)
    else:
        with ProgressDisplay("GANSpace: mapping z", unit="z") as display:
            found = ganspace(G, num=args.num, layers=layers, num_samples=args.num_samples, seed=args.seed,
                             progress=display.update)
    save_directions(args.out, found, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(found)} {args.method} directions on ws {format_layer_range(found.layers)} "
          f"of {found.model.describe()}")
    for k in range(min(5, len(found))):
        print(f"  {found.label(k)}: value {found.values[k]:.6g}, sigma of W {found.scales[k]:.4g}")
    return 0
