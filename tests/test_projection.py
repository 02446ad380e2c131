"""Projection pieces against plain numpy (targets, distances, the noise regulariser, the schedule, W
statistics), the optimisation's contract (G untouched, targets independent, cancel keeps the best W),
and its files."""
import dataclasses
import math

import numpy as np
import pytest
import torch
from PIL import Image

from eqviz.errors import Cancelled, InvalidArgument


# ---- Targets ---------------------------------------------------------------------------------------------
def test_wide_target_is_centre_cropped_to_a_square_then_resized():
    from eqviz.projection.targets import prepare_target

    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, 10:30] = 200  # the centre square is uniform; the sides are black
    out = prepare_target(Image.fromarray(pixels), resolution=8, channels=3)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert np.all(out == 200)


def test_target_is_converted_to_grey_for_a_one_channel_model():
    from eqviz.projection.targets import prepare_target

    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 1] = 100
    out = prepare_target(Image.fromarray(rgb), resolution=16, channels=1)
    assert out.shape == (16, 16, 1)
    assert np.all(out == round(100 * 587 / 1000))  # ITU-R 601 luma, PIL's "L"


def test_target_tensor_maps_bytes_onto_the_generator_range():
    from eqviz.projection.targets import target_tensor

    x = target_tensor(np.array([[[0, 255, 128]]], np.uint8))
    assert x.shape == (1, 3, 1, 1)
    np.testing.assert_allclose(x.flatten().numpy(), [-1.0, 1.0, 128 / 127.5 - 1], rtol=0, atol=1e-7)


@pytest.mark.parametrize("content", [None, b"not an image at all"])
def test_unreadable_target_is_one_line_error_naming_the_file(tmp_path, content):
    from eqviz.projection.targets import load_target

    path = tmp_path / "photo.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidArgument, match="photo.jpg") as info:
        load_target(path, 64, 3)
    assert "\n" not in str(info.value) and info.value.argument == "targets"


# ---- Distances and the noise regulariser ---------------------------------------------------------------
def test_parse_losses_reads_names_and_weights_and_refuses_unknown_ones():
    from eqviz.projection.losses import parse_losses

    assert parse_losses("pixel, discriminator") == {"pixel": 1.0, "discriminator": 1.0}
    assert parse_losses("pixel=2,lpips=0.5") == {"pixel": 2.0, "lpips": 0.5}
    for bad in ("pixle", "pixel=x", "pixel=0", ""):
        with pytest.raises(InvalidArgument) as info:
            parse_losses(bad)
        assert info.value.argument == "losses"


def test_pixel_and_relative_feature_distances_equal_numpy():
    from eqviz.projection.losses import pixel_distance, relative_feature_distance

    rng = np.random.RandomState(0)
    a, b = rng.randn(2, 3, 4, 4), rng.randn(2, 3, 4, 4)
    np.testing.assert_allclose(pixel_distance(torch.from_numpy(a), torch.from_numpy(b)).numpy(),
                               ((a - b) ** 2).mean(axis=(1, 2, 3)), rtol=1e-12)
    fa = {"b8": rng.randn(2, 5, 4, 4), "b4": 10 * rng.randn(2, 7, 2, 2)}
    fb = {"b8": rng.randn(2, 5, 4, 4), "b4": 10 * rng.randn(2, 7, 2, 2)}
    want = sum(((fa[k] - fb[k]) ** 2).mean(axis=(1, 2, 3)) / ((fb[k] ** 2).mean(axis=(1, 2, 3)) + 1e-8) for k in fa) / 2
    got = relative_feature_distance({k: torch.from_numpy(v) for k, v in fa.items()},
                                    {k: torch.from_numpy(v) for k, v in fb.items()})
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_noise_regularization_equals_nvidia_formula_in_numpy():
    from eqviz.projection.losses import noise_regularization

    rng = np.random.RandomState(1)
    maps = [rng.randn(2, 1, 32, 32), rng.randn(2, 1, 8, 8)]
    want = np.zeros(2)
    for m in maps:
        for n in range(2):
            v = m[n, 0]
            while True:
                want[n] += (v * np.roll(v, 1, axis=1)).mean() ** 2 + (v * np.roll(v, 1, axis=0)).mean() ** 2
                if v.shape[0] <= 8:
                    break
                v = v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2).mean(axis=(1, 3))
    got = noise_regularization([torch.from_numpy(m) for m in maps])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


# ---- Schedule and W statistics -------------------------------------------------------------------------
def test_learning_rate_ramps_up_then_cosine_down_and_noise_on_w_fades():
    from eqviz.projection.projector import ProjectionSettings, learning_rate, w_noise_scale

    s = ProjectionSettings(steps=1000)
    assert learning_rate(0, s) == 0.0
    assert learning_rate(25, s) == pytest.approx(0.05)          # halfway up the 5% ramp
    assert learning_rate(500, s) == pytest.approx(0.1)          # plateau
    assert learning_rate(875, s) == pytest.approx(0.05)         # cosine halfway down the last 25%
    assert w_noise_scale(0, 2.0, s) == pytest.approx(0.1)       # 0.05 of the W spread
    assert w_noise_scale(375, 2.0, s) == pytest.approx(0.1 * 0.25)  # (1 - t / 0.75)^2
    assert w_noise_scale(750, 2.0, s) == 0.0


@pytest.fixture(scope="module")
def sg3t(reference_dir):
    from eqviz.networks import load_discriminator, load_generator

    path = reference_dir / "pkl" / "sg3t_64.pkl"
    return load_generator(path), load_discriminator(path)


def test_w_statistics_equal_numpy_mean_and_spread(sg3t):
    from eqviz.projection.projector import w_statistics

    G, _ = sg3t
    w_avg, w_std = w_statistics(G, 300, torch.zeros(1, 0), batch=128)
    z = np.random.RandomState(123).randn(300, G.z_dim)
    with torch.no_grad():
        ws = G.mapping(torch.from_numpy(z), None)[:, 0].double().numpy()
    mean = ws.mean(axis=0)
    np.testing.assert_allclose(w_avg[0].numpy(), mean, rtol=1e-5, atol=1e-6)
    assert w_std == pytest.approx(np.sqrt(((ws - mean) ** 2).sum(axis=1).mean()), rel=1e-6)


# ---- The optimisation's contract -----------------------------------------------------------------------
def _target(G, seed):
    from eqviz.core.input_transform import synthesize

    with torch.no_grad():
        w = G.mapping(torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim)), None)
        return w, synthesize(G, w)


def test_projection_leaves_the_generator_untouched(sg3t):
    from eqviz.projection.projector import ProjectionSettings, project

    G, D = sg3t
    before = {k: v.clone() for k, v in G.state_dict().items()}
    project(G, _target(G, 1)[1], ProjectionSettings(steps=2, w_avg_samples=100), D=D)
    for key, value in G.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_targets_projected_together_equal_each_projected_alone(sg3t):
    from eqviz.projection.projector import ProjectionSettings, project

    G, D = sg3t
    targets = torch.cat([_target(G, 1)[1], _target(G, 2)[1]])
    settings = ProjectionSettings(steps=4, w_avg_samples=100, initial_noise_factor=0.0)
    together = project(G, targets, settings, D=D)
    alone = project(G, targets[1:], settings, D=D)
    # Each Adam step moves a coordinate by up to the learning rate (0.1): cross-talk between targets would
    # show at that scale; batching only changes float summation order.
    torch.testing.assert_close(together.ws[1:], alone.ws, rtol=0, atol=1e-3)
    assert not torch.allclose(together.ws[0], together.ws[1])


def test_cancel_returns_the_best_w_of_the_steps_done(sg3t):
    from eqviz.projection.projector import ProjectionSettings, project

    G, D = sg3t
    calls = []
    settings = ProjectionSettings(steps=50, w_avg_samples=100)
    with pytest.raises(Cancelled) as info:
        project(G, _target(G, 1)[1], settings, D=D, cancel=lambda: len(calls) >= 3,
                progress=calls.append)
    partial = info.value.partial
    assert (info.value.done, info.value.total, partial.steps_done) == (3, 50, 3)
    assert partial.ws.shape == (1, G.num_ws, G.w_dim) and 0 <= partial.best_step[0] < 3
    assert [p.done for p in calls] == [1, 2, 3]


@pytest.mark.slow
def test_w_space_result_is_one_w_repeated_and_w_plus_is_per_layer(sg3t):
    from eqviz.projection.projector import ProjectionSettings, project

    G, D = sg3t
    target = _target(G, 1)[1]
    w = project(G, target, ProjectionSettings(steps=8, w_avg_samples=100), D=D).ws
    assert torch.equal(w, w[:, :1].expand_as(w))
    # Per-layer offsets join once the noise on w has faded: here after a quarter of the steps.
    settings = ProjectionSettings(steps=12, space="w+", w_avg_samples=100, noise_ramp_length=0.25)
    result = project(G, target, settings, D=D)
    assert result.best_step[0] > 3 and not torch.allclose(result.ws[:, 0], result.ws[:, -1])
    # W+ is the W search plus offsets: offsets that never start (ramp = the whole run) leave the W search's
    # result, bit for bit, with the same seed.
    frozen = dataclasses.replace(settings, noise_ramp_length=1.0)
    w_only = project(G, target, dataclasses.replace(frozen, space="w"), D=D)
    assert torch.equal(project(G, target, frozen, D=D).ws, w_only.ws)


def test_missing_discriminator_or_lpips_weights_are_one_line_errors(sg3t):
    from eqviz.projection.projector import ProjectionSettings, project

    G, _ = sg3t
    target = _target(G, 1)[1]
    with pytest.raises(InvalidArgument, match="needs the snapshot's D") as info:
        project(G, target, ProjectionSettings(steps=1, losses=(("discriminator", 1.0),)))
    assert info.value.argument == "losses"
    with pytest.raises(InvalidArgument, match="vgg16-397923af.pth"):
        project(G, target, ProjectionSettings(steps=1, losses=(("lpips", 1.0),)))
    with pytest.raises(InvalidArgument, match=r"shape \[N, 3, 64, 64\]"):
        project(G, torch.zeros(1, 3, 32, 32), ProjectionSettings(steps=1))


# ---- Files -----------------------------------------------------------------------------------------------
def test_projection_files_are_nvidia_format_and_reload_as_the_same_w(sg3t, tmp_path):
    from eqviz.core.latents import load_w
    from eqviz.projection.outputs import psnr, save_projection
    from eqviz.projection.projector import ProjectionSettings, project

    G, D = sg3t
    target = _target(G, 1)[1]
    result = project(G, target, ProjectionSettings(steps=3, w_avg_samples=100, history_every=1), D=D)
    (folder,) = save_projection(tmp_path / "out", G, result, target, ["photo.png"], video=True)
    saved = np.load(folder / "projected_w.npz")
    assert saved.files == ["w"] and saved["w"].shape == (1, G.num_ws, G.w_dim) and saved["w"].dtype == np.float32
    assert torch.equal(load_w(folder / "projected_w.npz", G), result.ws)
    proj = np.asarray(Image.open(folder / "proj.png"))
    assert proj.shape == (64, 64, 3)
    assert (folder / "proj.mp4").stat().st_size > 0 and (folder / "target.png").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["proj.mp4", "proj.png", "projected_w.npz", "target.png"]
    with pytest.raises(InvalidArgument, match="already exists") as info:
        save_projection(tmp_path / "out", G, result, target, ["photo.png"])
    assert info.value.argument == "overwrite"
    mse = ((target.clamp(-1, 1) - result.images.clamp(-1, 1)) ** 2).mean()
    assert float(psnr(result.images, target)[0]) == pytest.approx(20 * math.log10(2) - 10 * math.log10(mse), rel=1e-5)


def test_several_targets_get_a_folder_each_named_after_them(tmp_path):
    from eqviz.projection.outputs import output_folders

    assert output_folders(tmp_path, ["a/photo.jpg"]) == [tmp_path]
    assert output_folders(tmp_path, ["x/a.jpg", "b.png"]) == [tmp_path / "a", tmp_path / "b"]
    assert output_folders(tmp_path, ["x/a.jpg", "y/a.jpg"]) == [tmp_path / "00_a", tmp_path / "01_a"]
