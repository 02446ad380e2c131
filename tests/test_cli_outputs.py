"""Commands as a careless user runs them: outputs checked before the work, nothing deleted that eqviz
did not write, the same --overwrite rule everywhere, Ctrl+C keeping the projection, honest numbers."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eqviz.cli.main import main
from fid_oracle import oracle_inception  # noqa: F401 (fixture)
from test_cli_startup import eqviz_probe
from test_outputs_files import unwritable_folder  # noqa: F401 (fixture)

FRAME = np.zeros((8, 8, 3), np.uint8)


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


# ---- video --out DIR --overwrite: only eqviz's frames are ever replaced ----------------------------
def test_overwriting_a_frame_folder_never_deletes_files_eqviz_did_not_write(tmp_path):
    from eqviz.video.writer import open_writer

    out = tmp_path / "frames"
    out.mkdir()
    (out / "a.txt").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "b.txt").write_text("mine too")
    with pytest.raises(Exception, match="holds files eqviz did not write \\(a.txt, sub\\)"):
        open_writer(out, fps=10, overwrite=True)
    assert (out / "a.txt").read_text() == "mine" and (out / "sub" / "b.txt").read_text() == "mine too"


def test_overwriting_an_earlier_frame_folder_replaces_its_frames(tmp_path):
    from eqviz.video.writer import open_writer

    out = tmp_path / "frames"
    for count in (3, 2):  # a shorter video over a longer one: no stale third frame
        writer = open_writer(out, fps=10, overwrite=True)
        for i in range(count):
            writer.write(FRAME + i)
        writer.commit()
    assert sorted(p.name for p in out.iterdir()) == ["frame_000000.png", "frame_000001.png"]
    assert np.asarray(Image.open(out / "frame_000001.png")).max() == 1


def test_video_into_the_current_folder_is_refused_before_any_work(tmp_path):
    (tmp_path / "notes.txt").write_text("keep")
    ckpt = tmp_path / "m.pkl"
    ckpt.write_bytes(b"never read")
    code, _, err, torch_imported = eqviz_probe("video", ckpt, "--out", ".", "--overwrite", cwd=tmp_path)
    assert code == 2 and "holds files eqviz did not write" in err and not torch_imported
    assert (tmp_path / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("command", [
    ["convert", "{ckpt}", "{dir}.safetensors", "--overwrite"],
    ["sheet", "{ckpt}", "--directions", "{ckpt}", "--out", "{dir}.png", "--overwrite"],
    ["directions", "{ckpt}", "--out", "{dir}.npz", "--overwrite"],
    ["video", "{ckpt}", "--out", "{dir}.mp4", "--overwrite"],
    ["metrics", "{ckpt}", "--json", "{dir}.json", "--overwrite"],
])
def test_overwrite_never_replaces_a_folder_with_a_file(command, tmp_path):
    ckpt = tmp_path / "m.pkl"
    ckpt.write_bytes(b"never read")
    for suffix in (".safetensors", ".png", ".npz", ".mp4", ".json"):
        (tmp_path / f"out{suffix}").mkdir()
        (tmp_path / f"out{suffix}" / "keep.txt").write_text("keep")
    code, _, err, torch_imported = eqviz_probe(*[a.format(ckpt=ckpt, dir=tmp_path / "out") for a in command])
    assert code == 2 and "is a folder" in err and "\n" not in err and not torch_imported, err
    assert all((tmp_path / f"out{s}" / "keep.txt").exists() for s in (".safetensors", ".png", ".npz", ".mp4", ".json"))


@pytest.mark.parametrize("command", [
    ["metrics", "{ckpt}", "--json", "{ckpt}", "--overwrite"],
    ["fid", "{tmp}", "{ckpt}", "--json", "{ckpt}", "--overwrite"],
    ["convert", "{st}", "{st}", "--overwrite"],
    ["sheet", "{ckpt}", "--directions", "{ckpt}", "--out", "{png}", "--overwrite"],
])
def test_overwrite_never_replaces_the_file_being_read(command, tmp_path):
    ckpt, st, png = tmp_path / "m.pkl", tmp_path / "m.safetensors", tmp_path / "m.png"
    for path in (ckpt, st, png):
        path.write_bytes(b"the input: never replaced")
    if "sheet" in command:
        ckpt = png  # a checkpoint named .png, read as the sheet is written over it
    code, _, err, torch_imported = eqviz_probe(*[a.format(ckpt=ckpt, st=st, png=png, tmp=tmp_path) for a in command])
    assert code == 2 and "is also this command's input; write the output to another name" in err, err
    assert not torch_imported
    assert all(p.read_bytes() == b"the input: never replaced" for p in (tmp_path / "m.pkl", st, png))


@pytest.mark.parametrize("command", [
    ["render", "{ckpt}", "--seeds", "0", "--outdir", "{file}"],
    ["sticking", "{ckpt}", "--seeds", "0", "--outdir", "{file}"],
    ["project", "{ckpt}", "--target", "{ckpt}", "--out", "{file}"],
])
def test_an_output_folder_that_is_a_file_is_one_sentence(command, tmp_path):
    ckpt, afile = tmp_path / "m.pkl", tmp_path / "afile"
    ckpt.write_bytes(b"never read")
    afile.write_text("keep")
    code, _, err, torch_imported = eqviz_probe(*[a.format(ckpt=ckpt, file=afile) for a in command])
    assert code == 2 and "is a file; give a folder" in err and not torch_imported, err
    assert afile.read_text() == "keep"


@pytest.mark.parametrize("command", [
    ["render", "{ckpt}", "--seeds", "0", "--outdir", "{ro}/out"],
    ["sticking", "{ckpt}", "--seeds", "0", "--outdir", "{ro}/out"],
    ["compare", "{ckpt}", "--out", "{ro}/out"],
    ["fid", "{tmp}", "{ckpt}", "--json", "{ro}/fid.json"],
    ["metrics", "{ckpt}", "--json", "{ro}/eq.json"],
    ["gui", "{ckpt}", "--screenshot", "{ro}/shot.png"],
])
def test_an_unwritable_output_is_refused_before_the_work(command, tmp_path, unwritable_folder):  # noqa: F811
    ckpt = tmp_path / "m.pkl"
    ckpt.write_bytes(b"never read")
    start = time.perf_counter()
    code, _, err, torch_imported = eqviz_probe(*[a.format(ckpt=ckpt, tmp=tmp_path, ro=unwritable_folder)
                                                 for a in command])
    assert code == 2 and "cannot write to folder" in err and "\n" not in err, err
    assert not torch_imported and time.perf_counter() - start < 30


@pytest.mark.parametrize("command, flag", [
    (["metrics", "{ckpt}", "--json", "{old}"], "--json"),
    (["fid", "{tmp}", "{ckpt}", "--json", "{old}"], "--json"),
    (["gui", "{ckpt}", "--screenshot", "{old}"], "--screenshot"),
])
def test_every_command_refuses_to_replace_a_file_without_overwrite(command, flag, tmp_path):
    ckpt, old = tmp_path / "m.pkl", tmp_path / "old.json"
    ckpt.write_bytes(b"never read")
    old.write_text("keep")
    code, _, err, _ = eqviz_probe(*[a.format(ckpt=ckpt, tmp=tmp_path, old=old) for a in command])
    assert code == 2 and f"error: {flag}: " in err and "already exists; pass --overwrite" in err, err
    assert old.read_text() == "keep"


def test_an_interrupted_folder_check_leaves_no_probe_file(tmp_path, monkeypatch):
    """The writability probe is removed however the check ends (a SIGTERM in a long check once left
    .eqviz-write-test.partial-PID-TOKEN behind)."""
    from eqviz.atomic_io import ensure_writable_folder

    def interrupted_close(fd):
        os_close(fd)
        raise KeyboardInterrupt

    os_close = os.close
    monkeypatch.setattr(os, "close", interrupted_close)
    with pytest.raises(KeyboardInterrupt):
        ensure_writable_folder(tmp_path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# ---- Ctrl+C in eqviz project keeps the best W ------------------------------------------------------
def test_ctrl_c_during_a_projection_keeps_the_best_w(reference_dir, tmp_path):
    target = tmp_path / "t.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(target)
    out = tmp_path / "proj"
    proc = subprocess.Popen([sys.executable, "-m", "eqviz", "project", str(reference_dir / "pkl" / "sg3t_64.pkl"),
                             "--target", str(target), "--steps", "100000", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # the optimisation has started once this line is out
            if line.startswith("projecting"):
                break
        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "kept the best W found so far" in stderr and "Traceback" not in stderr
    w = np.load(out / "projected_w.npz")["w"]
    assert w.shape[1:] == (16, 64) or w.ndim == 3
    assert (out / "proj.png").is_file()


# ---- Long steps show progress ---------------------------------------------------------------------
def test_compare_counts_the_report_pictures_as_it_makes_them(reference_dir, tmp_path, capsys):
    """The pictures (sample grid, long exposures, rotation strip) are most of a quick comparison's
    time: 530 syntheses at the defaults, which on a busy CPU ran 10 minutes with nothing on screen."""
    assert main(["compare", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--metrics", "eqr", "--num-samples", "2",
                 "--seeds", "0,1", "--exposure-samples", "3", "--batch", "2", "--out", str(tmp_path / "r")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("sg3t_64: pictures")]
    total = 2 * (3 + 2) + 8  # per seed: a grid image, an exposure's own image and 3 averaged; 8 rotation steps
    assert lines[0].startswith("sg3t_64: pictures:   0% 0/18") and f"100% {total}/{total}" in lines[-1]
    assert "image/s" in lines[-1] or "s/image" in lines[-1]


# ---- Honest numbers: FID interval, KID with few images, the generated side's name, GIF rate --------
def image_folder(path, seed, n=8, size=16):
    path.mkdir()
    for i, img in enumerate(np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)):
        Image.fromarray(img).save(path / f"{i}.png")
    return path


def test_fid_interval_contains_the_fid_and_kid_of_whole_sets_claims_no_spread(tmp_path, monkeypatch, reference_dir,
                                                                              oracle_inception):  # noqa: F811
    inception = oracle_inception
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    data = image_folder(tmp_path / "data", 0, n=12, size=64)
    out = tmp_path / "fid.json"
    assert main(["fid", str(data), str(reference_dir / "pkl" / "sg3t_64.pkl"), "--num-samples", "12",
                 "--metrics", "fid,kid", "--bootstrap", "20", "--inception", str(inception), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    fid, (lo, hi), std = result["fid"]["value"], result["fid"]["interval_95"], result["fid"]["bootstrap_std"]
    assert lo < fid < hi and hi - lo == pytest.approx(2 * 1.96 * std)
    assert np.isfinite(result["fid"]["bootstrap_bias"])  # stated beside the interval, not hidden in it
    assert result["kid"]["subset_std"] is None  # 12 vs 12 images: every subset is both whole sets


def test_metrics_names_the_generated_side_by_its_checkpoint(tmp_path, monkeypatch, reference_dir, capsys,
                                                            oracle_inception):  # noqa: F811
    inception = oracle_inception
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    data = image_folder(tmp_path / "data", 0, n=4, size=64)
    assert main(["metrics", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--metrics", "fid", "--data", str(data),
                 "--num-samples", "4", "--bootstrap", "0", "--inception", str(inception)]) == 0
    out = capsys.readouterr().out
    assert "checkpoint sg3t_64.pkl" in out and "Generator" not in out


def test_a_gif_states_the_rate_it_really_plays_at(tmp_path, reference_dir, capsys):
    assert main(["video", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--frames", "6", "--fps", "30",
                 "--out", str(tmp_path / "v.gif")]) == 0
    out = capsys.readouterr().out
    durations = []
    with Image.open(tmp_path / "v.gif") as gif:
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    played_fps = 1000 / np.mean(durations)
    assert f"at {played_fps:.4g} fps" in out and f"= {6 / played_fps:.2f} s" in out
    assert "30 fps plays at 33.33 fps" in out
