"""`eqviz project` end to end on the reference snapshot, then `eqviz video --w` on its result, and the
command's one-line errors (each naming the flag to change)."""
import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def target_photo(tmp_path_factory, reference_dir):
    """A 96x64 (non-square) photo: the reference StyleGAN3-T's seed-5 image, padded left and right."""
    import torch

    from eqviz.core.images import to_uint8
    from eqviz.networks import load_generator
    from eqviz.core.input_transform import synthesize

    G = load_generator(reference_dir / "pkl" / "sg3t_64.pkl")
    with torch.no_grad():
        img = synthesize(G, G.mapping(torch.from_numpy(np.random.RandomState(5).randn(1, G.z_dim)), None))
    photo = np.zeros((64, 96, 3), np.uint8)
    photo[:, 16:80] = to_uint8(img * 3)  # the model's images are faint; stretch them for the 8-bit file
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(photo).save(path)
    return path


def run_cli(*argv):
    from eqviz.cli.main import main

    return main([str(a) for a in argv])


def test_project_then_rotation_video_of_the_projected_w(reference_dir, target_photo, tmp_path, capsys):
    ckpt = reference_dir / "pkl" / "sg3t_64.pkl"
    out = tmp_path / "proj"
    assert run_cli("project", ckpt, "--target", target_photo, "--steps", 4, "--video", "--out", out) == 0
    printed = capsys.readouterr().out
    assert "losses pixel=1, discriminator=1" in printed and "PSNR" in printed
    assert sorted(p.name for p in out.iterdir()) == ["proj.mp4", "proj.png", "projected_w.npz", "target.png"]
    target = np.asarray(Image.open(out / "target.png"))
    assert target.shape == (64, 64, 3)
    np.testing.assert_array_equal(target, np.asarray(Image.open(target_photo))[:, 16:80])  # the centre square
    # The saved W alone renders the projected image (`eqviz render --w`).
    assert run_cli("render", ckpt, "--w", out / "projected_w.npz", "--outdir", tmp_path / "render") == 0
    rendered = np.asarray(Image.open(tmp_path / "render" / "projected_w.png")).astype(int)
    assert np.abs(rendered - np.asarray(Image.open(out / "proj.png")).astype(int)).max() <= 1
    frames = tmp_path / "frames"
    assert run_cli("video", ckpt, "--w", out / "projected_w.npz", "--motion", "rotate", "--frames", 2, "--out", frames) == 0
    assert len(list(frames.glob("*.png"))) == 2


@pytest.mark.parametrize("args, flag, text", [
    (["--target", "missing.jpg"], "--target", "does not exist"),
    (["--loss", "pixel,sharpness"], "--loss", "unknown projection loss 'sharpness'"),
    (["--steps", "0"], "--steps", "0 optimisation steps is outside 1 to 100,000"),
    (["--space", "w+", "--loss", "pixel=-1"], "--loss", "must be positive"),
])
def test_project_errors_are_one_line_and_name_the_flag(reference_dir, target_photo, tmp_path, capsys, args, flag, text):
    if "--target" not in args:
        args = ["--target", target_photo, *args]
    code = run_cli("project", reference_dir / "pkl" / "sg3t_64.pkl", *args, "--out", tmp_path / "o")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"eqviz project: error: {flag}: ") and text in err
    assert not (tmp_path / "o").exists()


def test_the_lpips_loss_without_files_fetches_them_and_offline_says_where_they_go(reference_dir, target_photo, tmp_path,
                                                                                   capsys, monkeypatch):
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))  # the test run is offline (conftest)
    code = run_cli("project", reference_dir / "pkl" / "sg3t_64.pkl", "--target", target_photo, "--loss", "lpips",
                   "--out", tmp_path / "o")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in err and str(tmp_path / "cache" / "downloads") in err
    assert not (tmp_path / "o").exists()


def test_discriminator_loss_on_a_file_without_d_says_so(reference_dir, target_photo, tmp_path, capsys):
    from eqviz.networks import load_generator, save_generator

    ckpt = save_generator(load_generator(reference_dir / "pkl" / "sg3t_64.pkl"), tmp_path / "g.safetensors")
    code = run_cli("project", ckpt, "--target", target_photo, "--loss", "discriminator", "--out", tmp_path / "o")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "holds only the generator" in err and "\n" not in err
    assert not (tmp_path / "o").exists()
