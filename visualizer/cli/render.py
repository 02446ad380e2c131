"""`eqviz render`: PNG images for seeds, like NVIDIA's gen_images.py, or for a saved app session."""
import argparse
import dataclasses
from pathlib import Path

from eqviz.cli.arguments import (add_max_memory_argument, blamed_on_flag, existing_checkpoint, existing_file,
                                 fetch_downloads, max_memory, output_file, output_folder, session_file)
from eqviz.cli.directions import parse_edit_flag
from eqviz.core.seeds import parse_seeds
from eqviz.errors import EqvizError, InvalidArgument
from eqviz.networks.noise_modes import NOISE_MODES

HELP = "Render seeds (or a saved session) to PNG files, one per seed: DIR/seed0000.png, ..."

EXAMPLES = """examples:
  eqviz render sg3t.pkl --seeds 0-3 --outdir out
  eqviz render sg3t.pkl --seeds 1,5,9 --psi 0.7 --translate 0.1 0 --rotate 30 --outdir out
  eqviz render --session look.json --outdir out
  eqviz render sg3t.pkl --w proj/projected_w.npz --rotate 30 --outdir out   (after eqviz project)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoint", nargs="?", metavar="CHECKPOINT",
                        help="checkpoint to render (default: the one the --session names)")
    parser.add_argument("--seeds", help="seeds: 5, 0-3, 1,5,9 or mixes such as 0-3,10")
    parser.add_argument("--psi", type=float, help="truncation psi (default 1, or the session's)")
    parser.add_argument("--cutoff", type=int, help="truncate only the first N ws")
    parser.add_argument("--noise-mode", choices=NOISE_MODES, help="StyleGAN2 noise inputs (default const)")
    parser.add_argument("--class", dest="class_idx", type=int, help="class index of a conditional model")
    parser.add_argument("--translate", nargs=2, type=float, metavar=("X", "Y"),
                        help="StyleGAN3 input translation in image widths/heights (x right, y down)")
    parser.add_argument("--rotate", type=float, metavar="DEG", help="StyleGAN3 input rotation, degrees counter-clockwise")
    parser.add_argument("--session", help="a session JSON saved by the app; flags given here override its values")
    parser.add_argument("--w", metavar="FILE", help="a W vector (projected_w.npz from eqviz project or NVIDIA's projector, or .npy) in place of the seed; used as it is (no truncation)")
    parser.add_argument("--edit", action="append", metavar="FILE:K=ALPHA[,K=ALPHA...]",
                        help="move along directions of FILE (eqviz directions), alpha in standard deviations of W; "
                             "added to the session's edits; repeatable")
    parser.add_argument("--outdir", required=True, help="folder for the PNG files (created if missing)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    add_max_memory_argument(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing PNG files")


def seed_file(seed: int) -> str:
    return f"seed{seed:04d}.png"  # NVIDIA's gen_images.py names


def check_arguments(args):
    """Everything that can be checked before torch is loaded; returns the seeds (None: one image)."""
    if args.checkpoint is not None:
        existing_checkpoint(args.checkpoint)
    if args.session is not None:
        existing_file(args.session, "session")
    if args.w is not None:
        existing_file(args.w, "w")
    for flag in args.edit or []:
        existing_file(parse_edit_flag(flag)[0], "edit")
    max_memory(args)
    if args.seeds is None:
        if not args.session and not args.w:
            raise EqvizError("nothing to render: give --seeds (e.g. 0-3), --w FILE.npz or --session FILE.json")
        outdir = output_folder(args.outdir, "outdir")
        if outdir.is_dir():
            output_file(outdir / f"{Path(args.w or args.session).stem}.png", args.overwrite, "outdir")
        return None
    seeds = parse_seeds(args.seeds)
    outdir = output_folder(args.outdir, "outdir")
    if outdir.is_dir() and not args.overwrite:  # one scan of the folder, however many seeds (never expanded)
        taken = [entry.name for entry in outdir.iterdir() if entry.name.startswith("seed") and entry.name.endswith(".png")]
        clash = next((name for name in taken if name[4:-4].isdigit() and int(name[4:-4]) in seeds
                      and name == seed_file(int(name[4:-4]))), None)
        if clash is not None:
            raise InvalidArgument(f"{outdir / clash} already exists; pass --overwrite to replace it, or choose another "
                                  "folder", "outdir")
    return seeds


# Session field -> the dest of the flag that sets it.
FLAG_FIELDS = {"psi": "psi", "cutoff": "cutoff", "noise_mode": "noise_mode", "class_idx": "class_idx",
               "translate": "translate", "rotate_deg": "rotate", "w_path": "w"}


def flag_values(args) -> dict:
    """The session fields the flags set, each checked on its own (still without torch), so a bad value
    is blamed on its flag rather than on a session."""
    from eqviz.core.session import Session

    values = {field: getattr(args, dest) for field, dest in FLAG_FIELDS.items() if getattr(args, dest) is not None}
    if "translate" in values:
        values["translate"] = tuple(values["translate"])
    for field, value in values.items():
        blamed_on_flag(dataclasses.replace(Session(), **{field: value}).validate, field, FLAG_FIELDS[field])
    return values


def base_session(args):
    """The session every image starts from: the saved one (or defaults) with the flags applied."""
    from eqviz.core.session import Session

    values = flag_values(args)
    session = session_file(args.session) if args.session else Session()
    return dataclasses.replace(session, **values).validate()


def _jobs(seeds, args, session):
    """(file name, session) per image to write, one at a time (a range of seeds is never expanded)."""
    if seeds is None:
        yield f"{Path(args.w or args.session).stem}.png", session
        return
    # Seeds replace the session's latent position; its mixing, interpolation, truncation and pose stay.
    for seed in seeds:
        yield seed_file(seed), dataclasses.replace(session, latent_x=float(seed), latent_y=0.0)


def run(args) -> int:
    seeds = check_arguments(args)
    session = base_session(args)
    checkpoint = args.checkpoint or session.checkpoint
    if checkpoint is None:
        raise InvalidArgument("no checkpoint given and the session names none", "checkpoint")
    if seeds is not None and session.w_path is not None:
        given = "--w" if args.w else "the session's w_path"
        raise InvalidArgument(f"a W file ({given}) replaces the seed, so seeds would have no effect; drop one of them",
                              "seeds")
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.atomic_io import ensure_writable_folder, save_png
    from eqviz.core.images import to_uint8
    from eqviz.core.rendering import check_finite, render_session
    from eqviz.networks import load_generator

    G = load_generator(checkpoint, device=args.device, max_memory=max_memory(args))
    edits = []
    if args.edit:
        from eqviz.cli.directions import edits_from_flags

        edits = edits_from_flags(args.edit, G)
    outdir = ensure_writable_folder(args.outdir, create=True)
    for name, job in _jobs(seeds, args, session):
        if edits:
            job = dataclasses.replace(job, edits=[*job.edits, *edits])
        img = check_finite(render_session(G, job, device=args.device))
        save_png(outdir / name, to_uint8(img), overwrite=args.overwrite)
        print(f"wrote {outdir / name}")
    return 0
