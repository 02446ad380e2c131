"""The documented public names (README "Library API"), each imported as a user's script would and
called once against an independent answer: the textbook ops, numpy, or a composition of other
public names."""
import math

import numpy as np
import pytest
import torch

import textbook_ops


# ---- eqviz.networks ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_sg3():
    """A 16-px StyleGAN3-T with random weights, built from NVIDIA-style constructor arguments."""
    from eqviz.networks.build import build_generator
    from eqviz.networks.config import config_from_init_kwargs

    torch.manual_seed(0)
    kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
                  channel_base=64, channel_max=8)
    return build_generator(config_from_init_kwargs("stylegan3", kwargs)).eval().requires_grad_(False)


def test_save_generator_then_load_generator_gives_back_the_same_weights(tiny_sg3, tmp_path):
    from eqviz.networks import load_generator, save_generator

    save_generator(tiny_sg3, tmp_path / "tiny.safetensors")
    G = load_generator(tmp_path / "tiny.safetensors")
    assert (G.kind, G.img_resolution, G.z_dim) == ("stylegan3-t", 16, 8)
    before, after = tiny_sg3.state_dict(), G.state_dict()
    assert sorted(before) == sorted(after)
    for key, value in before.items():
        assert torch.equal(value, after[key]), key  # a copy, not a computation: bit-exact


def test_load_generator_refuses_a_non_checkpoint_with_checkpoint_error(tmp_path):
    from eqviz.errors import EqvizError
    from eqviz.networks import CheckpointError, load_generator

    bogus = tmp_path / "notes.pkl"
    bogus.write_bytes(b"this is not a pickle")
    with pytest.raises(CheckpointError) as caught:
        load_generator(bogus)
    assert isinstance(caught.value, EqvizError) and "\n" not in str(caught.value)


# ---- eqviz.cuda_ops: NVIDIA's function names ------------------------------------------------------
def test_upfirdn2d_module_has_nvidias_functions_and_they_match_the_textbook():
    from eqviz.cuda_ops import upfirdn2d

    x = torch.randn(2, 3, 10, 12, generator=torch.Generator().manual_seed(1))
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = upfirdn2d.setup_filter(taps)
    outer = np.outer(taps, taps) / taps.sum().item() ** 2  # NVIDIA's rule: fewer than 8 taps -> 2-D, normalised
    np.testing.assert_allclose(f.numpy(), outer, rtol=1e-6)

    y = upfirdn2d.upfirdn2d(x, f, up=2, down=1, padding=[2, 1, 2, 1], impl="ref")
    ref = textbook_ops.upfirdn2d(x, f, up=(2, 2), padding=(2, 1, 2, 1))
    np.testing.assert_allclose(y.double().numpy(), ref.numpy(), rtol=0, atol=1e-5 * ref.abs().max().item())
    # The size-keeping wrappers: same size, twice, half.
    assert upfirdn2d.filter2d(x, f).shape == x.shape
    assert upfirdn2d.upsample2d(x, f).shape == (2, 3, 20, 24)
    assert upfirdn2d.downsample2d(x, f).shape == (2, 3, 5, 6)


def test_bias_act_adds_the_bias_along_dim_then_applies_leaky_relu_with_its_gain():
    from eqviz.cuda_ops import bias_act

    x = torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(2))
    b = torch.tensor([0.5, -1.0, 0.0, 2.0])
    y = bias_act.bias_act(x, b, act="lrelu").numpy()
    v = x.numpy() + b.numpy()[None, :, None, None]
    np.testing.assert_allclose(y, np.where(v > 0, v, 0.2 * v) * math.sqrt(2), rtol=1e-6, atol=1e-6)


def test_filtered_lrelu_equals_upsample_lrelu_downsample():
    from eqviz.cuda_ops import filtered_lrelu, upfirdn2d

    g = torch.Generator().manual_seed(3)
    x, b = torch.randn(1, 3, 8, 8, generator=g), torch.randn(3, generator=g)
    fu = fd = upfirdn2d.setup_filter([1.0, 2.0, 1.0])
    y = filtered_lrelu.filtered_lrelu(x, fu, fd, b, up=2, down=2, padding=1, clamp=4.0)
    ref = textbook_ops.filtered_lrelu(x, fu, fd, b, up=2, down=2, padding=(1, 1, 1, 1), clamp=4.0)
    np.testing.assert_allclose(y.double().numpy(), ref.numpy(), rtol=0, atol=1e-5 * ref.abs().max().item())


# ---- eqviz.metrics.equivariance -------------------------------------------------------------------
def _image(n=1, size=16):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(4))


def test_integer_translation_shifts_by_whole_pixels_and_masks_what_came_in():
    from eqviz.metrics.equivariance import apply_integer_translation

    x = _image()
    out, mask = apply_integer_translation(x, 2 / 16, -3 / 16)  # 2 px right, 3 px up
    expected = np.zeros_like(x.numpy())
    expected[:, :, :13, 2:] = x.numpy()[:, :, 3:, :14]
    np.testing.assert_array_equal(out.numpy(), expected)
    assert mask.numpy()[0, 0].sum() == 13 * 14


def test_fractional_translation_by_whole_pixels_is_the_integer_translation_inside_its_mask():
    from eqviz.metrics.equivariance import apply_fractional_translation, apply_integer_translation

    x = _image()
    frac, frac_mask = apply_fractional_translation(x, 2 / 16, 1 / 16)
    whole, _ = apply_integer_translation(x, 2 / 16, 1 / 16)
    inside = frac_mask.bool()
    assert inside.sum() > 0
    np.testing.assert_allclose(frac[inside].numpy(), whole[inside].numpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["apply_fractional_rotation", "apply_fractional_pseudo_rotation"])
def test_rotations_keep_a_constant_image_constant_inside_their_mask(name):
    import eqviz.metrics.equivariance as eq

    x = torch.full((1, 3, 32, 32), 0.75)
    out, mask = getattr(eq, name)(x, torch.tensor(0.6))
    inside = mask.bool()
    assert 0 < inside.sum() < mask.numel()  # the corners rotated in from outside are masked out
    np.testing.assert_allclose(out[inside].numpy(), 0.75, rtol=0, atol=1e-5)


def test_equivariance_errors_are_the_masked_difference_of_the_public_pieces(tiny_sg3):
    from eqviz.metrics.equivariance import apply_integer_translation, equivariance_errors

    ws = tiny_sg3.mapping(torch.randn(2, 8, generator=torch.Generator().manual_seed(5)), None)
    t = torch.tensor([3 / 16, -2 / 16])
    errors = equivariance_errors(tiny_sg3, ws, t_int=t)["eqt_int"]

    identity = torch.eye(3).repeat(2, 1, 1)
    moved = identity.clone()
    moved[:, :2, 2] = -t  # the input transform is inverse: content moves by +t
    orig = tiny_sg3.synthesis(ws, input_transforms=identity)
    img = tiny_sg3.synthesis(ws, input_transforms=moved)
    ref, mask = apply_integer_translation(orig, *t)
    expected = (((ref - img) ** 2) * mask).double().sum(dim=(1, 2, 3))
    np.testing.assert_allclose(errors.sq_err_per_sample, expected.numpy(), rtol=1e-5)
    assert errors.sq_err_sum == pytest.approx(expected.sum().item(), rel=1e-5)


def test_compute_equivariance_pools_its_per_sample_sums_into_the_papers_psnr(tiny_sg3):
    from eqviz.metrics.equivariance import compute_equivariance

    result = compute_equivariance(tiny_sg3, metrics=("eqt_int", "eqr"), num_samples=3, batch_size=2, seed=1,
                                  bootstrap_resamples=50)
    for metric in ("eqt_int", "eqr"):
        err, mask = result.per_sample_sq_err[metric], result.per_sample_mask[metric]
        assert len(err) == 3
        np.testing.assert_allclose(result.sq_err_sum[metric], np.sum(err), rtol=1e-9)
        psnr = 20 * math.log10(2) - 10 * math.log10(np.sum(err) / np.sum(mask))  # peak 2: images span [-1, 1]
        assert result.psnr_db[metric] == pytest.approx(psnr, abs=1e-6)


# ---- eqviz.video ------------------------------------------------------------------------------------
def test_render_video_writes_every_frame_at_its_pose(tiny_sg3, tmp_path):
    from PIL import Image

    from eqviz.core.input_transform import synthesize_posed
    from eqviz.video import VideoSpec, render_video
    from eqviz.video.motions import Motion

    spec = VideoSpec(checkpoints=[tiny_sg3], out=str(tmp_path / "frames"), motion=Motion(kinds=("rotate",)),
                     seeds=[7], frames=3, fps=10, batch=2)
    result = render_video(spec)
    frames = sorted((tmp_path / "frames").iterdir())
    assert result.frames == 3 and [p.name for p in frames] == [f"frame_{i:06d}.png" for i in range(3)]
    first = np.asarray(Image.open(frames[0]).convert("RGB")).astype(int)
    z = torch.from_numpy(np.random.RandomState(7).randn(1, 8))
    img = tiny_sg3.synthesis(tiny_sg3.mapping(z, None), input_transforms=torch.eye(3)[None])[0]
    expected = (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy().astype(int)
    assert first.shape == expected.shape and np.abs(first - expected).max() <= 1
    turned = synthesize_posed(tiny_sg3, tiny_sg3.mapping(z, None), ((0.0, 0.0), 120.0))[0]  # one turn in 3 frames
    expected = (turned * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy().astype(int)
    assert np.abs(np.asarray(Image.open(frames[1]).convert("RGB")).astype(int) - expected).max() <= 1
