"""The metric's image operators and band-limit filters against NVIDIA's goldens (eq_sg3t_64.npz)."""
import math

import numpy as np
import pytest
import torch

from eqviz.core.image_quality import psnr_db
from eqviz.core.resampling import (
    apply_affine_transformation,
    apply_fractional_pseudo_rotation,
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
    untransform,
)
from eqviz.networks.filter_design import affine_bandlimit_filter, rotation_matrix

# Bounds from what NVIDIA's own code varies by across CPU code paths (native AVX-512, ATEN_CPU_CAPABILITY=
# default, oneDNN capped at AVX2 / SSE4.1, MKL_CBWR; README, Fidelity):
TOL = 1e-5  # translations, pseudo-rotation, filters: NVIDIA's code moves them by <= 7.2e-7 abs (oneDNN at SSE4.1)
# apply_fractional_rotation resamples a 4x-upsampled image at rotated points: NVIDIA's own code moves it by
# 3.3e-5 abs here (ATEN_CPU_CAPABILITY=default) and 5.6e-5 abs on an AVX-512 Xeon (values up to 3.5);
# 1e-4 is ~2x the larger (3e-5 of scale), while eqviz tracks NVIDIA's code on one machine to ~1e-6.
ROTATION_TOL = 1e-4


@pytest.fixture(scope="module")
def golden(reference_dir):
    with np.load(reference_dir / "golden" / "eq_sg3t_64.npz") as npz:
        return {k: npz[k] for k in npz.files}


def assert_op_matches(golden, out, mask, key, atol=TOL):
    np.testing.assert_allclose(out.numpy(), golden[f"{key}_out"], rtol=0, atol=atol)
    np.testing.assert_array_equal(mask.numpy(), golden[f"{key}_mask"])


@pytest.mark.parametrize("k", [0, 1])
def test_integer_translation_matches_nvidia(golden, k):
    tx, ty = torch.from_numpy(golden[f"op_int{k}_t"])
    out, mask = apply_integer_translation(torch.from_numpy(golden["op_x"]), tx, ty)
    assert_op_matches(golden, out, mask, f"op_int{k}")


@pytest.mark.parametrize("k", [0, 1])
def test_fractional_translation_matches_nvidia(golden, k):
    tx, ty = torch.from_numpy(golden[f"op_frac{k}_t"])
    out, mask = apply_fractional_translation(torch.from_numpy(golden["op_x"]), tx, ty)
    assert_op_matches(golden, out, mask, f"op_frac{k}")


@pytest.mark.parametrize("k", [0, 1])
def test_fractional_rotation_matches_nvidia(golden, k):
    out, mask = apply_fractional_rotation(torch.from_numpy(golden["op_x"]), torch.from_numpy(golden[f"op_rot{k}_angle"]))
    assert_op_matches(golden, out, mask, f"op_rot{k}", atol=ROTATION_TOL)


@pytest.mark.parametrize("k", [0, 1])
def test_pseudo_rotation_matches_nvidia(golden, k):
    out, mask = apply_fractional_pseudo_rotation(
        torch.from_numpy(golden["op_x"]), torch.from_numpy(golden[f"op_rot{k}_angle"])
    )
    assert_op_matches(golden, out, mask, f"op_pseudo{k}")


@pytest.mark.parametrize("k", [0, 1])
def test_bandlimit_filters_match_nvidia(golden, k):
    angle = torch.from_numpy(golden[f"op_rot{k}_angle"])
    rot = affine_bandlimit_filter(rotation_matrix(angle), a=3, amax=6, up=4)
    pseudo = affine_bandlimit_filter(rotation_matrix(-angle), a=3, amax=6, up=1)
    np.testing.assert_allclose(rot.numpy(), golden[f"op_rot{k}_filter"], rtol=0, atol=TOL)
    np.testing.assert_allclose(pseudo.numpy(), golden[f"op_pseudo{k}_filter"], rtol=0, atol=TOL)


def test_bandlimit_filter_polyphase_components_have_unit_gain():
    f = affine_bandlimit_filter(rotation_matrix(0.7), a=3, amax=6, up=4)
    padded = torch.nn.functional.pad(f, [0, 1, 0, 1]).reshape(12, 4, 12, 4)
    np.testing.assert_allclose(padded.sum(dim=(0, 2)).numpy(), np.full((4, 4), 1 / 16), rtol=1e-6)


def test_integer_translation_moves_content_right_and_down():
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 5, 7] = 1
    out, mask = apply_integer_translation(x, 2 / 16, 3 / 16)
    assert out[0, 0, 8, 9] == 1 and out.sum() == 1
    assert mask[0, 0, :3].sum() == 0 and mask[0, 0, :, :2].sum() == 0 and mask.sum() == 14 * 13


def test_fractional_translation_by_whole_pixels_is_a_plain_shift():
    x = torch.randn(2, 3, 32, 32)
    out, mask = apply_fractional_translation(x, 3 / 32, -2 / 32)
    shifted, _ = apply_integer_translation(x, 3 / 32, -2 / 32)
    np.testing.assert_allclose((out * mask).numpy(), (shifted * mask).numpy(), atol=1e-6)


def smooth_image(size=64):
    """Low-frequency content, well inside every band limit the operators impose."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    img = torch.stack([torch.sin(3 * x + 2 * y), torch.cos(2 * x - 4 * y), torch.sin(5 * y) * torch.cos(x)])
    return img[None]


def test_untransform_undoes_a_translation_exactly_on_whole_pixels():
    x = torch.randn(1, 3, 32, 32)
    moved, _ = apply_integer_translation(x, 4 / 32, -3 / 32)
    back, mask = untransform(moved, translate=(4 / 32, -3 / 32))
    inside = mask.bool()
    np.testing.assert_allclose(back[inside].numpy(), x[inside].numpy(), atol=1e-6)


def test_untransform_undoes_a_rotation_with_translation():
    x = smooth_image()
    angle, t = 0.6, (0.05, -0.08)
    M = torch.tensor([[math.cos(angle), math.sin(angle), t[0]], [-math.sin(angle), math.cos(angle), t[1]], [0, 0, 1]])
    moved, moved_mask = apply_affine_transformation(x, M)
    back, mask = untransform(moved, translate=t, rotate_deg=math.degrees(angle))
    # Resampling twice costs a little accuracy and the second pass sees the first one's zero border.
    keep = mask.bool() & (apply_affine_transformation(moved_mask, torch.linalg.inv(M))[0] > 0.999)
    assert keep.sum() > 0.3 * keep.numel()
    assert (back - x)[keep].abs().max() < 2e-2


def test_rotation_turns_content_counter_clockwise():
    x = torch.zeros(1, 1, 64, 64)
    x[0, 0, 31:33, 46:50] = 1  # a blob right of the centre
    out, _ = apply_fractional_rotation(x, math.pi / 2)
    row, col = divmod(int(out[0, 0].argmax()), 64)
    assert row < 24 and 28 <= col <= 35  # counter-clockwise as displayed: now above the centre


def test_psnr_uses_peak_two():
    assert psnr_db(4.0, 1.0) == pytest.approx(0.0)
    assert psnr_db(0.04, 1.0) == pytest.approx(20.0)


@pytest.mark.parametrize("up, shape", [(4, (2, 3, 20, 17)), (2, (1, 2, 9, 12)), (1, (1, 1, 8, 8))])
def test_the_metrics_upsampling_on_the_fast_path_equals_the_reference_op(up, shape):
    from eqviz.cuda_ops.upfirdn2d import upsample2d

    f = affine_bandlimit_filter(rotation_matrix(0.7), a=3, amax=6, up=up)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(up))
    pad = f.shape[0] // 2
    expected = upsample2d(x, f, up=up, padding=pad, impl="ref")
    got = upsample2d(x, f, up=up, padding=pad, impl="fast")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=0, atol=1e-5)
