"""Output files: permissions follow the umask, nothing is overwritten unasked, an unwritable folder
or a broken ffmpeg is refused before any work, and partial files never outlive their writer."""
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from eqviz.atomic_io import (PARTIAL_MARK, ensure_writable_folder, partial_name, remove_own_partials,
                             remove_stale_partials, save_png, write_text)
from eqviz.cli.main import SUBCOMMANDS
from eqviz.errors import EqvizError
from eqviz.video.writer import open_writer

FRAME = np.full((16, 16, 3), 200, np.uint8)


def eqviz_cli(*argv, timeout=300, **kwargs):
    return subprocess.run([sys.executable, "-m", "eqviz.cli.main", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def partials(folder: Path) -> list:
    return [p.name for p in folder.iterdir() if PARTIAL_MARK in p.name]


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


@pytest.fixture
def umask():
    """Sets the process umask for one test and restores it after."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder that refuses new files: mode 0555, or for root (who ignores modes) a sysfs folder."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys")):
        try:
            ensure_writable_folder(candidate)
        except EqvizError:
            yield candidate
            folder.chmod(0o755)
            return
    folder.chmod(0o755)
    pytest.skip("no folder here refuses new files to this user")


# ---- Permissions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_an_ordinary_write_would_give(tmp_path, umask, mask, mode):
    umask(mask)
    save_png(tmp_path / "a.png", FRAME)
    write_text(tmp_path / "a.json", "{}\n")
    for kind in ("v.gif", "v.mp4"):
        writer = open_writer(tmp_path / kind, fps=10)
        writer.write(FRAME)
        writer.commit()
    for name in ("a.png", "a.json", "v.gif", "v.mp4"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_a_frame_folder_gets_the_mode_of_mkdir(tmp_path, umask):
    umask(0o027)
    writer = open_writer(tmp_path / "frames", fps=10)
    writer.write(FRAME)
    writer.commit()
    assert stat.S_IMODE((tmp_path / "frames").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "frames" / "frame_000000.png").stat().st_mode) == 0o640


def test_a_converted_checkpoint_gets_the_mode_an_ordinary_write_would_give(tmp_path, umask, reference_dir):
    umask(0o022)
    result = eqviz_cli("convert", reference_dir / "pkl" / "sg2_64.pkl", tmp_path / "sg2.safetensors")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "sg2.safetensors").stat().st_mode) == 0o644


# ---- Refusals before work ------------------------------------------------------------------------------
def test_render_refuses_to_overwrite_without_the_flag_and_renders_nothing(tmp_path, reference_dir):
    sg2 = reference_dir / "pkl" / "sg2_64.pkl"
    (tmp_path / "seed0001.png").write_bytes(b"keep me")
    result = eqviz_cli("render", sg2, "--seeds", "0-1", "--outdir", tmp_path)
    assert result.returncode == 2 and "--overwrite" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0001.png"]  # seed 0 was not rendered either
    assert (tmp_path / "seed0001.png").read_bytes() == b"keep me"
    result = eqviz_cli("render", sg2, "--seeds", "0-1", "--outdir", tmp_path, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "seed0001.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("command", [
    ["render", "{ckpt}", "--seeds", "0", "--outdir", "{out}"],
    ["convert", "{ckpt}", "{out}/g.safetensors"],
    ["video", "{ckpt}", "--frames", "2", "--out", "{out}/v.mp4"],
    ["video", "{ckpt}", "--frames", "2", "--out", "{out}/v.gif"],
    ["video", "{ckpt}", "--frames", "2", "--out", "{out}/frames"],
    ["sticking", "{ckpt}", "--seeds", "0", "--samples", "2", "--frames", "2", "--outdir", "{out}"],
    ["metrics", "{ckpt}", "--num-samples", "1", "--json", "{out}/eq.json"],
])
def test_an_unwritable_output_folder_is_one_line_and_exit_2(command, unwritable_folder, reference_dir):
    ckpt = reference_dir / "pkl" / "sg2_64.pkl"
    result = eqviz_cli(*[part.format(ckpt=ckpt, out=unwritable_folder) for part in command])
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert str(unwritable_folder) in lines[0] and "Traceback" not in result.stderr


def test_a_broken_ffmpeg_is_found_before_the_first_frame(tmp_path, monkeypatch):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    with pytest.raises(EqvizError, match="Unknown encoder libx264"):
        open_writer(tmp_path / "v.mp4", fps=10)  # render_video opens its writer before building frames
    assert list(tmp_path.iterdir()) == [fake]


# ---- Partial files -----------------------------------------------------------------------------------------
def test_partial_names_are_hidden_beside_the_target_and_never_repeat(tmp_path):
    names = {partial_name(tmp_path / "clip.mp4") for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert name.parent == tmp_path and name.name.startswith(f".clip{PARTIAL_MARK}{os.getpid()}-") and name.suffix == ".mp4"


def test_stale_partials_of_dead_processes_are_removed_and_never_become_output(tmp_path):
    stale_folder = tmp_path / f".frames{PARTIAL_MARK}{dead_pid()}-0badf00d"
    stale_folder.mkdir()
    for i in range(5):
        save_png(stale_folder / f"frame_{i:06d}.png", np.zeros((16, 16, 3), np.uint8))
    stale_file = tmp_path / f".clip{PARTIAL_MARK}{dead_pid()}-12345678.mp4"
    stale_file.write_bytes(b"half a video")
    alive = tmp_path / f".clip{PARTIAL_MARK}{os.getpid()}-87654321.mp4"  # a writer still at work
    alive.write_bytes(b"in progress")

    writer = open_writer(tmp_path / "frames", fps=10)
    writer.write(FRAME)
    writer.commit()
    assert [p.name for p in (tmp_path / "frames").iterdir()] == ["frame_000000.png"]
    assert not stale_folder.exists()
    assert remove_stale_partials(tmp_path / "clip.mp4") == [stale_file]
    assert alive.exists() and not stale_file.exists()


def test_own_partials_are_removed_wherever_this_process_named_them(tmp_path):
    """For a process leaving with a writer unfinished: its partial files and folders go, nothing else."""
    (tmp_path / "a").mkdir()
    video = open_writer(tmp_path / "a" / "clip.mp4", fps=10)
    deadline = time.monotonic() + 30
    while not video.temp.exists() and time.monotonic() < deadline:  # ffmpeg creates it once it runs
        video.write(FRAME)
        time.sleep(0.05)
    frames = open_writer(tmp_path / "frames", fps=10)
    frames.write(FRAME)
    other = tmp_path / "a" / f".clip{PARTIAL_MARK}{dead_pid()}-12345678.mp4"  # another process's
    other.write_bytes(b"not ours")
    done = tmp_path / "a" / "done.png"
    save_png(done, FRAME)
    removed = [p for p in remove_own_partials() if tmp_path in p.parents]  # not earlier tests' leftovers
    assert sorted(p.name for p in removed) == sorted([video.temp.name, frames.temp.name])
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["a", other.name, "done.png"])
    video.abort()
    frames.abort()


def sigint_as_from_a_terminal():
    """Ctrl+C's default action in the child, whatever this run inherited: a suite started in the background
    by a non-interactive shell ignores SIGINT, and a process that inherits SIG_IGN rightly keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum, out", [(signal.SIGTERM, "v.mp4"), (signal.SIGINT, "frames")])
def test_a_signal_mid_render_removes_the_partial_output(tmp_path, reference_dir, signum, out):
    ckpt = reference_dir / "pkl" / "sg3t_64.pkl"
    proc = subprocess.Popen([sys.executable, "-m", "eqviz.cli.main", "video", str(ckpt), "--frames", "2000",
                             "--batch", "2", "--out", str(tmp_path / out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=sigint_as_from_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            written = [p for p in tmp_path.iterdir() if PARTIAL_MARK in p.name and p.stat().st_size > 0]
            if written and (out != "frames" or any(written[0].iterdir())):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.5)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert list(tmp_path.iterdir()) == [], err
    assert b"Traceback" not in err


# ---- Help texts ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_prints_as_written(command, capsys):
    from eqviz.cli.main import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: eqviz") and "%%" not in text
    if command == "metrics":
        assert "95% bootstrap" in text


# ---- Display ---------------------------------------------------------------------------------------------------
def test_a_display_that_cannot_be_opened_gets_the_missing_display_hint_and_exit_3():
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    env = {**os.environ, "DISPLAY": f":{number}"}
    env.pop("WAYLAND_DISPLAY", None)
    result = eqviz_cli("--seed", "3", env=env, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 3 and len(lines) == 1, result.stderr
    assert f":{number}" in lines[0] and "xvfb-run" in lines[0] and "eqviz render" in lines[0]
