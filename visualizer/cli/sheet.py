"""`eqviz sheet`: a direction sheet (GANSpace's figure): rows of directions or seeds, columns of alpha."""
import argparse

MAX_IMAGES = 2048  # a sheet is one PNG held in memory: 2048 tiles of 256² are 400 MB
DEFAULT_DIRECTIONS = 5

HELP = "Render a labelled sheet: each row one direction and seed, columns from -STRENGTH to +STRENGTH."

EXAMPLES = """examples:
  eqviz directions sg3t.pkl --method sefa --out sefa.npz
  eqviz sheet sg3t.pkl --directions sefa.npz --seeds 0-3 --strength 3 --steps 5 --out sheet.png
  eqviz sheet sg3t.pkl --directions sefa.npz --indices 0-4 --seeds 7 --rows seeds --psi 0.7 --out sheet.png
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="NVIDIA .pkl or eqviz .safetensors")
    parser.add_argument("--directions", required=True, help="directions: eqviz .npz (eqviz directions) or a .npy of vectors")
    parser.add_argument("--indices", help=f"which directions: 0-4, 1,3,7 ... (default: the first {DEFAULT_DIRECTIONS}, "
                                           "or all of a smaller set)")
    parser.add_argument("--seeds", default="0", help="seeds: 5, 0-3, 1,5,9 (default 0)")
    parser.add_argument("--strength", type=float, default=3.0, help="largest |alpha|, in standard deviations of W (default 3)")
    parser.add_argument("--steps", type=int, default=5, help="columns from -strength to +strength (default 5)")
    parser.add_argument("--rows", choices=("directions", "seeds"), default="directions",
                        help="group rows by direction (each over the seeds) or by seed (default directions)")
    parser.add_argument("--psi", type=float, default=1.0, help="truncation psi (default 1)")
    parser.add_argument("--session", help="start from a saved session JSON (truncation, pose, edits); its seed is replaced")
    parser.add_argument("--tile", type=int, help="pixels per image (default: the resolution, at most 256)")
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")


def run(args) -> int:
    import dataclasses
    from pathlib import Path

    from eqviz.cli.arguments import (blamed_on_flag, check_count, existing_checkpoint, existing_file, fetch_downloads,
                                     output_file, session_file)
    from eqviz.core.seeds import parse_seeds
    from eqviz.core.session import Session
    from eqviz.errors import InvalidArgument

    existing_checkpoint(args.checkpoint)
    existing_file(args.directions, "directions")
    if args.session:
        existing_file(args.session, "session")
    seeds = parse_seeds(args.seeds)
    indices = parse_seeds(args.indices, "indices") if args.indices else None  # the same list syntax as seeds
    check_count(args.steps, "steps", "columns", MAX_IMAGES)
    rows = len(seeds) * (DEFAULT_DIRECTIONS if indices is None else len(indices))
    check_count(rows * args.steps, "seeds", "images (directions x seeds x steps)", MAX_IMAGES)
    if Path(args.out).suffix.lower() != ".png":
        raise InvalidArgument(f"{args.out}: a sheet is written as PNG; name it e.g. sheet.png", "out")
    output_file(args.out, args.overwrite, "out", inputs=[args.checkpoint, args.directions, args.session])  # before the work, not after it
    session = session_file(args.session) if args.session else Session()
    if not args.session or args.psi != 1.0:
        session = blamed_on_flag(dataclasses.replace(session, psi=args.psi).validate, "psi", "psi")
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.atomic_io import save_png
    from eqviz.cli.progress import ProgressDisplay
    from eqviz.directions.files import load_directions
    from eqviz.directions.sheet import direction_sheet
    from eqviz.networks import load_generator

    G = load_generator(args.checkpoint, device=args.device)
    directions = load_directions(args.directions, G)
    if indices is None:
        indices = range(min(DEFAULT_DIRECTIONS, len(directions)))
    with ProgressDisplay("sheet", unit="row") as display:
        img = direction_sheet(G, directions, indices, seeds, strength=args.strength, steps=args.steps, rows=args.rows,
                              session=session, tile=args.tile, device=args.device, progress=display.update)
    save_png(args.out, img, overwrite=args.overwrite)
    print(f"wrote {args.out} ({img.shape[1]}x{img.shape[0]}, {len(indices) * len(seeds)} rows x {args.steps} columns)")
    return 0
