"""`eqviz gui`: open the desktop app (on CHECKPOINT, a session, or the bundled demo checkpoint)."""
import argparse
import os
import sys
from pathlib import Path

from eqviz.app.display import display_problem
from eqviz.cli.arguments import existing_checkpoint, existing_file, output_file
from eqviz.errors import EqvizError, InvalidArgument

HELP = "Open the interactive explorer window (needs a display)."

NO_DISPLAY = ("eqviz gui: {problem}; run it under a virtual display with `xvfb-run -a eqviz ...`, "
              "or render without a window with `eqviz render` / `eqviz video`")


MIN_WINDOW, MAX_WINDOW = 480, 16384  # smaller leaves no room beside the controls; GL stops at 16384


def default_threads() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", nargs="?",
                        help="checkpoint to open (.pkl or .safetensors); default: the session's, else the demo")
    parser.add_argument("--session", metavar="FILE", help="start from a saved session JSON")
    parser.add_argument("--seed", type=float, help="seed (a fractional value blends neighbouring seeds in W)")
    parser.add_argument("--psi", type=float, help="truncation psi")
    parser.add_argument("--translate", type=float, nargs=2, metavar=("X", "Y"), help="input translation, image widths")
    parser.add_argument("--rotate", type=float, metavar="DEG", help="input rotation in degrees, counter-clockwise")
    parser.add_argument("--untransform", action="store_true", help="show the output transformed back")
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=default_threads(),
                        help="CPU threads for rendering (default: all cores but one, which keeps the window fluid)")
    parser.add_argument("--width", type=int, default=1280, help="window width in pixels (default 1280)")
    parser.add_argument("--height", type=int, default=840, help="window height in pixels (default 840)")
    parser.add_argument("--browse-dir", metavar="DIR",
                        help="list this folder's .pkl / .safetensors checkpoints in the Checkpoint panel")
    parser.add_argument("--screenshot", metavar="PNG", help="save a window screenshot once the image is shown")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --screenshot file")
    parser.add_argument("--exit-after", type=int, metavar="N",
                        help="quit N frames after the first image (or error) is shown (scripted runs)")


def state_from_args(args):
    """The app's starting state from the command line (session file, seed, pose, view flags)."""
    from eqviz.app.state import AppState
    from eqviz.core.session import Session

    state = AppState()
    if args.session:
        state.adopt_session(Session.load(args.session))
    s = state.session
    if args.seed is not None:
        s.latent_x, s.latent_y = float(args.seed), 0.0
    if args.psi is not None:
        s.psi = args.psi
    if args.translate is not None:
        s.translate = (args.translate[0], args.translate[1])
    if args.rotate is not None:
        s.rotate_deg = args.rotate
    if args.untransform:
        s.untransform = True
    s.validate()
    return state


def check_arguments(args) -> None:
    """Everything that can be checked before torch is loaded (or a window opened)."""
    if args.checkpoint is not None:
        existing_checkpoint(args.checkpoint)
    if args.session is not None:
        existing_file(args.session, "session")
    if args.threads < 1:
        raise InvalidArgument(f"threads must be at least 1, got {args.threads}", "threads")
    if args.exit_after is not None and args.exit_after < 1:
        raise InvalidArgument(f"exit_after must be at least 1 frame, got {args.exit_after}", "exit_after")
    for name in ("width", "height"):
        if not MIN_WINDOW <= getattr(args, name) <= MAX_WINDOW:
            raise InvalidArgument(f"{name} must be between {MIN_WINDOW} and {MAX_WINDOW} pixels, got "
                                  f"{getattr(args, name)}", name)
    if args.browse_dir and not Path(args.browse_dir).expanduser().is_dir():
        raise InvalidArgument(f"{args.browse_dir} is not a folder; give a folder that holds checkpoints", "browse_dir")
    if args.screenshot:
        output_file(args.screenshot, args.overwrite, "screenshot", inputs=[args.checkpoint])


def run(args) -> int:
    check_arguments(args)
    problem = display_problem()
    if problem is not None:
        print(NO_DISPLAY.format(problem=problem), file=sys.stderr)
        return 3
    from eqviz.devices import check_device

    check_device(args.device)

    from eqviz.app.app import App, AppOptions, ScriptedRun
    from eqviz.assets import DEMO_CHECKPOINT

    state = state_from_args(args)
    state.browse_dir = str(Path(args.browse_dir).expanduser()) if args.browse_dir else None
    checkpoint = args.checkpoint or state.session.checkpoint or str(DEMO_CHECKPOINT)
    scripted = ScriptedRun(exit_after=args.exit_after, screenshot=args.screenshot)
    code = App(AppOptions(checkpoint=checkpoint, device=args.device, threads=args.threads, state=state,
                          scripted=scripted, width=args.width, height=args.height)).run()
    if scripted.failure is not None:
        raise EqvizError(scripted.failure)
    return code
