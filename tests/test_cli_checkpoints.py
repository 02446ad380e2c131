"""`eqviz info`, `eqviz render` and `eqviz convert`, run in-process through the CLI entry point
(plus one real subprocess), checked against NVIDIA's golden render and each other."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from eqviz.cli.main import main
from eqviz.core.session import Session


@pytest.fixture
def sg2(reference_dir):
    return str(reference_dir / "pkl" / "sg2_64.pkl")


@pytest.fixture
def sg3t(reference_dir):
    return str(reference_dir / "pkl" / "sg3t_64.pkl")


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_info_prints_the_generator_summary(sg3t, capsys):
    assert main(["info", sg3t]) == 0
    out = capsys.readouterr().out
    assert "generator: StyleGAN3-T, 64x64, 3 channels" in out
    assert "latents: z_dim=64, w_dim=64, num_ws=16" in out
    assert "parameters: 507,157" in out
    assert "also holds: D (Discriminator, not loaded)" in out
    assert "input transform (translate/rotate): yes" in out
    assert "filter ops: " in out  # the backend that would render it here


def test_info_json(sg2, capsys):
    assert main(["info", sg2, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "stylegan2" and info["num_ws"] == 10 and info["param_count"] == 361_704
    assert info["supports_input_transform"] is False
    assert info["backend"].startswith("filter ops: ")


def test_info_on_a_missing_file_is_one_error_line_and_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.pkl")]) == 2
    line = error_line(capsys)
    assert line.startswith("eqviz info: error: checkpoint ") and "missing.pkl does not exist" in line


def test_info_subprocess_runs_the_installed_command(sg2):
    command = [shutil.which("eqviz")] if shutil.which("eqviz") else [sys.executable, "-m", "eqviz.cli.main"]
    result = subprocess.run([*command, "info", sg2], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "generator: StyleGAN2, 64x64" in result.stdout


def test_render_writes_one_png_per_seed_and_no_temp_files(sg2, reference_dir, tmp_path):
    outdir = tmp_path / "new" / "out"
    assert main(["render", sg2, "--seeds", "0-1,5", "--psi", "0.7", "--outdir", str(outdir)]) == 0
    assert sorted(p.name for p in outdir.iterdir()) == ["seed0000.png", "seed0001.png", "seed0005.png"]
    golden = np.load(reference_dir / "golden" / "sg2_64_render.npz")
    case = 1  # seed 1, psi 0.7, no cutoff, noise const: what this command rendered for seed 1
    assert (golden["seed"][case], golden["psi"][case], golden["cutoff"][case]) == (1, 0.7, -1)
    expected = np.clip(golden["img"][case] * 127.5 + 128, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    img = png(outdir / "seed0001.png")
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert np.abs(img.astype(int) - expected).max() <= 1  # one step apart near a rounding boundary


def test_render_matches_nvidia_golden_image_with_translate_and_rotate(sg3t, reference_dir, tmp_path):
    golden = np.load(reference_dir / "golden" / "sg3t_64_render.npz")
    case = 3  # seed 3, psi 1, cutoff 4, translate (-0.2, 0.15), rotate -30 degrees
    tx, ty = golden["translate"][case]
    args = ["render", sg3t, "--seeds", str(golden["seed"][case]), "--cutoff", str(golden["cutoff"][case]),
            "--translate", str(tx), str(ty), "--rotate", str(golden["rotate_deg"][case]), "--outdir", str(tmp_path)]
    assert main(args) == 0
    expected = np.clip(golden["img"][case] * 127.5 + 128, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    got = png(tmp_path / f"seed{golden['seed'][case]:04d}.png")
    # Values within float32 noise of a rounding boundary may land one step apart.
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_translate_on_stylegan2_is_a_clear_error_and_writes_nothing(sg2, tmp_path, capsys):
    assert main(["render", sg2, "--seeds", "0", "--rotate", "10", "--outdir", str(tmp_path)]) == 2
    assert "StyleGAN2 generator has no input transform" in error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_bad_seeds_are_a_clear_error(sg2, tmp_path, capsys):
    assert main(["render", sg2, "--seeds", "3-x", "--outdir", str(tmp_path)]) == 2
    assert "cannot read seeds" in error_line(capsys)


def test_render_needs_seeds_or_a_session(sg2, tmp_path, capsys):
    assert main(["render", sg2, "--outdir", str(tmp_path)]) == 2
    assert "give --seeds" in error_line(capsys)


def test_session_file_renders_like_the_same_flags(sg2, tmp_path):
    session_path = tmp_path / "look.json"
    Session(checkpoint=sg2, latent_x=7, psi=0.6, noise_mode="none").save(session_path)
    assert main(["render", "--session", str(session_path), "--outdir", str(tmp_path / "a")]) == 0
    assert main(["render", sg2, "--seeds", "7", "--psi", "0.6", "--noise-mode", "none", "--outdir", str(tmp_path / "b")]) == 0
    np.testing.assert_array_equal(png(tmp_path / "a" / "look.png"), png(tmp_path / "b" / "seed0007.png"))


def test_flags_override_the_session(sg2, tmp_path):
    session_path = tmp_path / "look.json"
    Session(checkpoint=sg2, latent_x=7, psi=0.6).save(session_path)
    assert main(["render", "--session", str(session_path), "--seeds", "2", "--psi", "1", "--outdir", str(tmp_path / "a")]) == 0
    assert main(["render", sg2, "--seeds", "2", "--outdir", str(tmp_path / "b")]) == 0
    np.testing.assert_array_equal(png(tmp_path / "a" / "seed0002.png"), png(tmp_path / "b" / "seed0002.png"))


def test_convert_then_render_is_identical_to_rendering_the_pickle(sg2, tmp_path, capsys):
    target = tmp_path / "sg2.safetensors"
    assert main(["convert", sg2, str(target)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["render", str(target), "--seeds", "4", "--outdir", str(tmp_path / "a")]) == 0
    assert main(["render", sg2, "--seeds", "4", "--outdir", str(tmp_path / "b")]) == 0
    np.testing.assert_array_equal(png(tmp_path / "a" / "seed0004.png"), png(tmp_path / "b" / "seed0004.png"))


def test_convert_refuses_to_overwrite_without_the_flag(sg2, tmp_path, capsys):
    target = tmp_path / "sg2.safetensors"
    target.write_bytes(b"keep")
    assert main(["convert", sg2, str(target)]) == 2
    assert "--overwrite" in error_line(capsys)
    assert target.read_bytes() == b"keep"
    assert main(["convert", sg2, str(target), "--overwrite"]) == 0


def test_convert_wants_a_safetensors_target(sg2, tmp_path, capsys):
    assert main(["convert", sg2, str(tmp_path / "out.pkl")]) == 2
    assert ".safetensors" in error_line(capsys)


def test_convert_of_a_hostile_pickle_fails_cleanly(tmp_path, capsys):
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'ran'}",)

    source = tmp_path / "evil.pkl"
    source.write_bytes(pickle.dumps(Evil()))
    assert main(["convert", str(source), str(tmp_path / "out.safetensors")]) == 2
    assert "refusing to load it" in error_line(capsys)
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out.safetensors").exists()
