"""`eqviz gui` from the command line, where no window is needed to check the behaviour."""
import os
import subprocess
import sys

import pytest

from app_driver import NEEDS_DISPLAY
from eqviz.cli.main import build_parser


def _env_without_display():
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


@pytest.mark.parametrize("argv", [[], ["gui"], ["some.pkl"]])
def test_without_a_display_it_says_how_to_run_and_fails(argv, tmp_path):
    (tmp_path / "some.pkl").write_bytes(b"never read: there is no window to show it in")
    proc = subprocess.run([sys.executable, "-m", "eqviz.cli.main", *argv], env=_env_without_display(),
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "xvfb-run" in lines[0] and "eqviz render" in lines[0]


def test_scripted_options_parse():
    args = build_parser(only="gui").parse_args(
        ["gui", "g.pkl", "--seed", "3.5", "--psi", "0.7", "--translate", "0.1", "-0.2", "--rotate", "30",
         "--screenshot", "s.png", "--exit-after", "5", "--threads", "1"])
    assert (args.checkpoint, args.seed, args.psi, args.translate, args.rotate) == ("g.pkl", 3.5, 0.7, [0.1, -0.2], 30.0)
    assert (args.screenshot, args.exit_after, args.threads) == ("s.png", 5, 1)


def test_command_line_values_land_in_the_session(tmp_path):
    from eqviz.cli.gui import state_from_args
    session_file = tmp_path / "s.json"
    from eqviz.core.session import Session
    Session(psi=0.5, latent_x=9.0).save(session_file)
    args = build_parser(only="gui").parse_args(["gui", "--session", str(session_file), "--rotate", "12"])
    state = state_from_args(args)
    assert (state.session.psi, state.session.latent_x, state.session.rotate_deg) == (0.5, 9.0, 12.0)


def test_window_size_and_browse_folder_parse():
    args = build_parser(only="gui").parse_args(["gui", "--width", "1600", "--height", "1000", "--browse-dir", "ckpts"])
    assert (args.width, args.height, args.browse_dir) == (1600, 1000, "ckpts")


@NEEDS_DISPLAY  # without one, the display check answers first
@pytest.mark.parametrize("argv, says", [(["--width", "100"], "--width must be between"),
                                        (["--browse-dir", "/nonexistent/folder"], "--browse-dir")])
def test_bad_window_options_are_one_line_errors(argv, says):
    proc = subprocess.run([sys.executable, "-m", "eqviz.cli.main", "gui", *argv],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]
