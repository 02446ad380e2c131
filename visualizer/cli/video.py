"""`eqviz video`: rotation / translation / latent-walk videos of one or more checkpoints."""
import argparse

from eqviz.cli.arguments import (MAX_BATCH, check_count, existing_checkpoint, existing_file, fetch_downloads, parse_grid,
                                 session_file)
from eqviz.cli.directions import parse_edit_flag
from eqviz.cli.progress import ProgressDisplay
from eqviz.core.seeds import parse_seeds
from eqviz.errors import InvalidArgument
from eqviz.networks.noise_modes import NOISE_MODES
from eqviz.video.limits import check_cells, check_frame_count, check_tile, check_walk_seeds
from eqviz.video.motions import frame_count, parse_motion
from eqviz.video.targets import check_crf, check_output

HELP = "Render a rotation, translation or looping latent-walk video (MP4, GIF or PNG frames), optionally side by side."

EXAMPLES = """examples:
  eqviz video sg3t.pkl --motion rotate --seeds 5 --out rotate.mp4
  eqviz video sg3t.pkl --motion walk --seeds 0-31 --grid 2x4 --psi 0.7 --out walk.mp4
  eqviz video sg2.pkl sg3t.pkl sg3r.pkl --motion rotate --seeds 5 --untransform --error-map --out side.mp4
  eqviz video sg3t.pkl --motion edit,rotate --edit sefa.npz:0 --strength 3 --seeds 5 --out edit.mp4
  eqviz video sg3r.pkl --w proj/projected_w.npz --motion rotate --out photo_rotate.mp4   (after eqviz project)
  eqviz video sg3t.pkl --keyframes move.json --fps 30 --out move.mp4   (keyframes saved by the app)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="one or more checkpoints, shown side by side")
    parser.add_argument("--motion", default="rotate", help="rotate, translate, walk, edit, or a combination such as walk,rotate (default rotate)")
    parser.add_argument("--seeds", help="seeds: 5, 0-7 or 1,4,9; one per grid cell, or for a walk the keyframes split over the cells (default 0)")
    parser.add_argument("--grid", help="ROWSxCOLS of cells, e.g. 2x4 (default: near-square)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--frames", type=int, help="number of frames")
    length.add_argument("--duration", type=float, help="length in seconds (default 4)")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    parser.add_argument("--size", type=int, help="panel size in pixels (default: the generator's resolution)")
    parser.add_argument("--psi", type=float, help="truncation psi (default 1, or the session's)")
    parser.add_argument("--cutoff", type=int, help="truncate only the first N ws")
    parser.add_argument("--noise-mode", choices=NOISE_MODES, help="StyleGAN2 noise (default const)")
    parser.add_argument("--class", dest="class_idx", type=int, help="class index of a conditional model")
    parser.add_argument("--turns", type=float, default=1.0, help="rotate: full turns over the video (default 1: loops)")
    parser.add_argument("--radius", type=float, default=0.1, help="translate: radius (circle) or half-length (line), in image widths (default 0.1)")
    parser.add_argument("--path", choices=("circle", "line"), default="circle", help="translate: looping circle or a line (default circle)")
    parser.add_argument("--angle", type=float, default=0.0, help="translate --path line: direction in degrees (default 0 = rightwards)")
    parser.add_argument("--walk-space", choices=("w", "z"), default="w", help="walk: periodic spline in W, or slerp in Z (default w)")
    parser.add_argument("--edit", action="append", metavar="FILE:K[=ALPHA],...",
                        help="directions of FILE (eqviz directions): with --motion edit each swings through "
                             "ALPHA sin(2 pi t) (ALPHA defaults to --strength); otherwise a fixed edit K=ALPHA; repeatable")
    parser.add_argument("--strength", type=float, default=3.0,
                        help="edit motion: amplitude in standard deviations of W (default 3)")
    parser.add_argument("--untransform", action="store_true", help="add a panel with the input transform undone")
    parser.add_argument("--error-map", action="store_true", help="add a panel with the per-pixel equivariance error")
    parser.add_argument("--labels", action=argparse.BooleanOptionalAction, default=None, help="label the panels (default: when there is more than one per cell)")
    parser.add_argument("--keyframes", metavar="FILE.json",
                        help="animate a keyframe file (saved by the app's Keyframes panel) instead of a motion")
    parser.add_argument("--session", help="start from a saved session JSON (its latent, truncation and pose)")
    parser.add_argument("--w", metavar="FILE", help="a W vector (projected_w.npz from eqviz project or NVIDIA's projector, or .npy) in place of the seed; used as it is (no truncation)")
    parser.add_argument("--crf", type=int, default=18, help="H.264 quality, 0 (lossless) to 51 (default 18)")
    parser.add_argument("--batch", type=int, default=8, help="frames synthesised per call (default 8)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    parser.add_argument("--out", required=True, help="FILE.mp4 / .mov / .mkv, FILE.gif, or a folder for PNG frames")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def check_arguments(args):
    """Everything that can be checked before torch is loaded: (seeds or None, grid or None)."""
    for checkpoint in args.checkpoints:
        existing_checkpoint(checkpoint, "checkpoints")
    for name in ("session", "w", "keyframes"):
        if getattr(args, name) is not None:
            existing_file(getattr(args, name), name)
    for flag in args.edit or []:
        existing_file(parse_edit_flag(flag)[0], "edit")
    seeds = parse_seeds(args.seeds) if args.seeds else None
    grid = parse_grid(args.grid) if args.grid else None
    if grid is not None:
        check_cells(grid[0] * grid[1])
    elif seeds is not None and "walk" not in args.motion:
        check_cells(len(seeds), "seeds")
    if seeds is not None:
        check_walk_seeds(len(seeds))
    check_tile(args.size)
    check_count(args.batch, "batch", "frames per batch", MAX_BATCH)
    check_crf(args.crf)
    if not 0 < args.fps <= 1000:
        raise InvalidArgument(f"{args.fps:g} frames per second is outside (0, 1000]", "fps")
    if not args.keyframes:  # a keyframe file brings its own length (and refuses these flags itself)
        parse_motion(args.motion)
        check_frame_count(frame_count(args.frames, args.duration, args.fps))
    check_output(args.out, args.overwrite)  # before any checkpoint is loaded or frame rendered
    return seeds, grid


def build_spec(args, seeds=None, grid=None):
    """A VideoSpec from parsed arguments (validation errors are EqvizError)."""
    from eqviz.video.motions import Motion, parse_motion
    from eqviz.core.session import Session
    from eqviz.video.render import VideoSpec

    session = session_file(args.session) if args.session else None
    if args.w is not None:  # a W file makes the video one of that latent, as a session holding it would
        session = Session.from_dict({**(session or Session()).to_dict(), "w_path": args.w})
    given = {k: v for k, v in (("psi", args.psi), ("cutoff", args.cutoff), ("noise_mode", args.noise_mode),
                               ("class_idx", args.class_idx)) if v is not None}
    if session is not None:  # a session owns its truncation, noise and class; the flags override them there
        session = Session.from_dict({**session.to_dict(), **given})
    kinds = parse_motion(args.motion)
    checkpoints, sweeps, edits = list(args.checkpoints), (), []
    if args.edit:
        checkpoints, sweeps, edits = _edited(args, "edit" in kinds)
    motion = Motion(
        kinds=kinds,
        sweeps=sweeps,
        turns=args.turns,
        radius=args.radius,
        path=args.path,
        angle_deg=args.angle,
        walk_space=args.walk_space,
    )
    return VideoSpec(
        checkpoints=checkpoints,
        out=args.out,
        motion=motion,
        seeds=seeds,
        grid=grid,
        frames=args.frames,
        duration=args.duration,
        fps=args.fps,
        size=args.size,
        session=session,
        **({} if session else given),
        edits=edits,
        untransform=args.untransform,
        error_map=args.error_map,
        labels=args.labels,
        crf=args.crf,
        batch=args.batch,
        device=args.device,
        overwrite=args.overwrite,
    )


def _edited(args, sweeping: bool):
    """(checkpoints as one loaded generator, sweeps, fixed edits) for --edit: directions belong to one model."""
    from eqviz.cli.directions import edits_from_flags
    from eqviz.errors import EqvizError
    from eqviz.video.render import load_generators

    if len(args.checkpoints) != 1:
        raise EqvizError("--edit: directions belong to one model; give one checkpoint")
    if not sweeping and args.strength != 3.0:
        raise EqvizError("--strength sets the amplitude of --motion edit; add edit to --motion")
    G = load_generators(args.checkpoints, args.device)[0][1]
    if sweeping:
        return [G], tuple(edits_from_flags(args.edit, G, default_alpha=args.strength)), []
    return [G], (), edits_from_flags(args.edit, G)


def run(args) -> int:
    seeds, grid = check_arguments(args)
    fetch_downloads(args)  # URLs, published names, metric weights: once everything else is checked
    from eqviz.video.render import render_video

    with ProgressDisplay("video", unit="frame") as display:
        spec = build_spec(args, seeds, grid)
        if args.keyframes:  # keyframes replace the motion, the latents and the length (the library refuses those flags)
            from eqviz.keyframes.animation import Animation
            from eqviz.keyframes.video import render_keyframe_video

            result = render_keyframe_video(Animation.load(args.keyframes), spec,
                                           progress=lambda p: display.update(p.done, p.total))
        else:
            result = render_video(spec, progress=lambda p: display.update(p.done, p.total))
    width, height = result.size
    print(f"wrote {result.path} ({width}x{height}, {result.frames} frames at {result.file_fps:.4g} fps = "
          f"{result.duration:.2f} s; rendered at {result.render_fps:.1f} fps)")
    if abs(result.file_fps - args.fps) > 1e-6:
        print(f"note: GIF frame delays are whole hundredths of a second, so {args.fps:g} fps plays at "
              f"{result.file_fps:.4g} fps; 50, 25 or 20 fps play exactly")
    return 0
