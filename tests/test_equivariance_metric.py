"""EQ-T / EQ-T(frac) / EQ-R on the sg3t_64 reference generator against NVIDIA's goldens, and the
sampling, accumulation, interval and cancellation of compute_equivariance."""
import json
import threading

import numpy as np
import pytest
import torch

from eqviz.errors import Cancelled
from eqviz.networks.build import build_generator
from eqviz.networks.config import config_from_init_kwargs
from eqviz.core.image_quality import psnr_db
from eqviz.core.resampling import (
    apply_fractional_pseudo_rotation,
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
)
from eqviz.metrics.equivariance.measure import EquivarianceUndefinedError, equivariance_errors
from eqviz.metrics.equivariance.run import (
    bootstrap_interval,
    compute_equivariance,
    draw_sample,
)

COLUMNS = {"eqt_int": 0, "eqt_frac": 2, "eqr": 4}  # sq-err column in per_sample_sums; mask column + 1


def reference_generator(reference_dir, name, kind):
    meta = json.loads((reference_dir / "weights" / f"{name}.json").read_text())
    G = build_generator(config_from_init_kwargs(kind, meta["G_init_kwargs"]))
    with np.load(reference_dir / "weights" / f"{name}.npz") as weights:
        G.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files}, strict=True)
    return G.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def golden(reference_dir):
    with np.load(reference_dir / "golden" / "eq_sg3t_64.npz") as npz:
        return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def sg3t(reference_dir):
    return reference_generator(reference_dir, "sg3t_64", "stylegan3-t")


@pytest.fixture(scope="module")
def batch0_errors(sg3t, golden):
    """NVIDIA's first batch of 4 with its fixed translations and angle."""
    return equivariance_errors(
        sg3t,
        torch.from_numpy(golden["batch0_ws"]),
        t_int=torch.from_numpy(golden["t_int"]),
        t_frac=torch.from_numpy(golden["t_frac"]),
        angle=torch.from_numpy(golden["angle"]),
    )


# ---- Operators on NVIDIA's real images ---------------------------------------------------------------
def test_operators_on_generated_images_match_nvidia(golden):
    orig = torch.from_numpy(golden["batch0_orig"])
    ref, mask = apply_integer_translation(orig, *torch.from_numpy(golden["t_int"]))
    np.testing.assert_allclose(ref.numpy(), golden["batch0_ref_t_int"], atol=1e-5)
    np.testing.assert_array_equal(mask.numpy(), golden["batch0_mask_t_int"])
    ref, mask = apply_fractional_translation(orig, *torch.from_numpy(golden["t_frac"]))
    np.testing.assert_allclose(ref.numpy(), golden["batch0_ref_t_frac"], atol=1e-5)
    np.testing.assert_array_equal(mask.numpy(), golden["batch0_mask_t_frac"])
    angle = torch.from_numpy(golden["angle"])
    ref, mask = apply_fractional_rotation(orig, angle)
    np.testing.assert_allclose(ref.numpy(), golden["batch0_ref_rot"], atol=1e-5)
    np.testing.assert_array_equal(mask.numpy(), golden["batch0_ref_rot_mask"])
    pseudo, mask = apply_fractional_pseudo_rotation(torch.from_numpy(golden["batch0_img_rot"]), angle)
    np.testing.assert_allclose(pseudo.numpy(), golden["batch0_pseudo_rot"], atol=1e-5)
    np.testing.assert_array_equal(mask.numpy(), golden["batch0_pseudo_rot_mask"])


# ---- Errors of one batch against NVIDIA's batch-of-4 run ---------------------------------------------
def test_mask_sums_are_exact(batch0_errors, golden):
    for metric, col in COLUMNS.items():
        np.testing.assert_array_equal(batch0_errors[metric].mask_per_sample, golden["per_sample_sums_b4"][:4, col + 1])


def test_eqr_squared_errors_match_within_1e3(batch0_errors, golden):
    np.testing.assert_allclose(batch0_errors["eqr"].sq_err_per_sample, golden["per_sample_sums_b4"][:4, 4], rtol=1e-3)
    expected = psnr_db(golden["per_sample_sums_b4"][:4, 4].sum(), golden["per_sample_sums_b4"][:4, 5].sum())
    assert batch0_errors["eqr"].psnr_db == pytest.approx(expected, abs=0.05)


def test_eqt_psnrs_match_within_noise_floor(batch0_errors, golden):
    for metric in ("eqt_int", "eqt_frac"):
        col = COLUMNS[metric]
        expected = psnr_db(golden["per_sample_sums_b4"][:4, col].sum(), golden["per_sample_sums_b4"][:4, col + 1].sum())
        assert batch0_errors[metric].psnr_db == pytest.approx(expected, abs=1.0)


def test_batch_sums_are_the_sums_of_the_per_sample_values(batch0_errors):
    for errors in batch0_errors.values():
        assert errors.sq_err_sum == pytest.approx(errors.sq_err_per_sample.sum(), rel=1e-12)
        assert errors.mask_sum == errors.mask_per_sample.sum()


def test_error_maps_are_channel_means_inside_the_mask(batch0_errors):
    errors = batch0_errors["eqr"]
    assert errors.error_map.shape == (4, 64, 64)
    np.testing.assert_allclose(errors.error_map.double().sum(dim=(1, 2)).numpy() * 3, errors.sq_err_per_sample, rtol=1e-5)
    assert (errors.error_map[errors.mask_map == 0] == 0).all()


@pytest.mark.slow
def test_pooled_psnrs_over_all_16_samples_match_nvidia(sg3t, golden):
    ws = sg3t.mapping(torch.from_numpy(golden["z"]), None)
    sums = {m: [0.0, 0.0] for m in COLUMNS}
    for first in range(0, 16, 4):
        errors = equivariance_errors(
            sg3t,
            ws[first : first + 4],
            t_int=torch.from_numpy(golden["t_int"]),
            t_frac=torch.from_numpy(golden["t_frac"]),
            angle=torch.from_numpy(golden["angle"]),
        )
        for m in COLUMNS:
            sums[m][0] += errors[m].sq_err_sum
            sums[m][1] += errors[m].mask_sum
    expected = dict(zip(COLUMNS, golden["psnrs"]))
    assert psnr_db(*sums["eqr"]) == pytest.approx(expected["eqr"], abs=0.05)
    assert psnr_db(*sums["eqt_int"]) == pytest.approx(expected["eqt_int"], abs=1.0)
    assert psnr_db(*sums["eqt_frac"]) == pytest.approx(expected["eqt_frac"], abs=1.0)


# ---- Generator state and per-sample parameters -------------------------------------------------------
def test_input_transform_is_restored(sg3t):
    buf = sg3t.synthesis.input.transform
    before = torch.tensor([[0.8, 0.6, 0.1], [-0.6, 0.8, -0.2], [0.0, 0.0, 1.0]])
    buf.copy_(before)
    try:
        equivariance_errors(sg3t, sg3t.mapping(torch.randn(1, sg3t.z_dim), None), t_frac=(0.05, 0.02))
        torch.testing.assert_close(buf, before, rtol=0, atol=0)
    finally:
        buf.copy_(torch.eye(3))


def test_per_sample_parameters_equal_separate_batches(sg3t):
    ws = sg3t.mapping(torch.from_numpy(np.random.RandomState(3).randn(2, sg3t.z_dim)), None)
    together = equivariance_errors(sg3t, ws, t_frac=[(0.03, -0.05), (-0.07, 0.01)], angle=[0.4, -1.1])
    for i, (t, angle) in enumerate([((0.03, -0.05), 0.4), ((-0.07, 0.01), -1.1)]):
        alone = equivariance_errors(sg3t, ws[i : i + 1], t_frac=t, angle=angle)
        for m in ("eqt_frac", "eqr"):
            assert together[m].mask_per_sample[i] == alone[m].mask_per_sample[0]
            np.testing.assert_allclose(together[m].sq_err_per_sample[i], alone[m].sq_err_per_sample[0], rtol=1e-2)


def test_stylegan2_is_refused_with_the_reason(reference_dir):
    G = reference_generator(reference_dir, "sg2_64", "stylegan2")
    with pytest.raises(EquivarianceUndefinedError, match=r"not defined for StyleGAN2 \(no input transform\)"):
        compute_equivariance(G, num_samples=1)
    with pytest.raises(EquivarianceUndefinedError):
        equivariance_errors(G, torch.zeros(1, G.num_ws, G.w_dim), angle=0.1)


# ---- Sampling ---------------------------------------------------------------------------------------
def test_sample_draws_depend_only_on_seed_and_index():
    a, b = draw_sample(7, 3, 64, 5, 0.125, 1.0), draw_sample(7, 3, 64, 5, 0.125, 1.0)
    np.testing.assert_array_equal(a.z, b.z)
    assert (a.t_int, a.t_frac, a.angle, a.class_idx) == (b.t_int, b.t_frac, b.angle, b.class_idx)
    assert not np.array_equal(a.z, draw_sample(7, 4, 64, 5, 0.125, 1.0).z)
    assert not np.array_equal(a.z, draw_sample(8, 3, 64, 5, 0.125, 1.0).z)


def test_sample_draws_stay_in_their_ranges():
    draws = [draw_sample(0, i, 8, 3, 0.125, 0.5) for i in range(200)]
    assert max(abs(v) for d in draws for v in (*d.t_int, *d.t_frac)) <= 0.125
    assert max(abs(d.angle) for d in draws) <= 0.5 * np.pi
    assert {d.class_idx for d in draws} == {0, 1, 2}
    assert draw_sample(0, 0, 8, 0, 0.125, 1.0).class_idx == -1
    assert np.std([d.z for d in draws]) == pytest.approx(1.0, abs=0.1)


def test_same_seed_gives_the_same_result_on_any_batch_size(sg3t):
    one = compute_equivariance(sg3t, metrics=("eqt_frac",), num_samples=2, batch_size=1, seed=5)
    two = compute_equivariance(sg3t, metrics=("eqt_frac",), num_samples=2, batch_size=2, seed=5)
    np.testing.assert_array_equal(one.per_sample_mask["eqt_frac"], two.per_sample_mask["eqt_frac"])
    np.testing.assert_allclose(one.per_sample_sq_err["eqt_frac"], two.per_sample_sq_err["eqt_frac"], rtol=2e-2)
    assert one.psnr_db["eqt_frac"] == pytest.approx(two.psnr_db["eqt_frac"], abs=0.1)
    assert one.settings["seed"] == 5 and one.complete


# ---- Interval and result ---------------------------------------------------------------------------
def test_bootstrap_interval_is_reproducible_and_brackets_the_pooled_value():
    rng = np.random.default_rng(1)
    sq_err = rng.gamma(2.0, 1e-4, size=(300, 2))
    mask = np.full((300, 2), 1e4)
    pooled = psnr_db(sq_err.sum(0), mask.sum(0))
    interval = bootstrap_interval(sq_err, mask)
    np.testing.assert_array_equal(interval, bootstrap_interval(sq_err, mask))
    assert (interval[:, 0] < pooled).all() and (pooled < interval[:, 1]).all()
    assert (interval[:, 1] - interval[:, 0] < 1.0).all()
    narrower = bootstrap_interval(np.tile(sq_err, (4, 1)), np.tile(mask, (4, 1)))
    assert ((narrower[:, 1] - narrower[:, 0]) < (interval[:, 1] - interval[:, 0])).all()


def test_result_carries_maps_per_sample_values_and_json(sg3t):
    result = compute_equivariance(sg3t, metrics=("eqt_int",), num_samples=2, batch_size=2, seed=0)
    assert result.mean_error_maps["eqt_int"].shape == (64, 64)
    assert result.per_sample_psnr_db["eqt_int"].shape == (2,)
    assert result.psnr_db["eqt_int"] == pytest.approx(
        psnr_db(result.per_sample_sq_err["eqt_int"].sum(), result.per_sample_mask["eqt_int"].sum())
    )
    data = json.loads(json.dumps(result.to_json()))
    assert data["settings"]["num_samples"] == 2 and data["num_samples_done"] == 2
    assert "bootstrap" in data["settings"]["interval"]
    assert len(data["results"]["eqt_int"]["per_sample_psnr_db"]) == 2


# ---- Cancellation -----------------------------------------------------------------------------------
def test_cancel_before_start_raises_without_a_partial_result(sg3t):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled, match="cancelled at 0 of 3 samples") as info:
        compute_equivariance(sg3t, metrics=("eqt_int",), num_samples=3, batch_size=1, cancel=cancel.is_set)
    assert info.value.partial is None


def test_cancel_midway_returns_the_finished_samples(sg3t):
    cancel = threading.Event()
    with pytest.raises(Cancelled, match="cancelled at 1 of 3 samples") as info:
        compute_equivariance(
            sg3t, metrics=("eqt_int",), num_samples=3, batch_size=1, cancel=cancel.is_set, progress=lambda done, total: cancel.set()
        )
    assert info.value.done == 1
    partial = info.value.partial
    assert not partial.complete and list(partial.sample_indices) == [0]
    first = compute_equivariance(sg3t, metrics=("eqt_int",), num_samples=1, batch_size=1)  # sample 0 alone
    assert partial.psnr_db["eqt_int"] == pytest.approx(first.psnr_db["eqt_int"], rel=1e-9)


def test_a_sample_is_its_drawn_latent_class_and_translation(reference_dir):
    from eqviz.networks import load_generator

    G = load_generator(reference_dir / "pkl" / "sg3t_64_cond.pkl")
    result = compute_equivariance(G, metrics=("eqt_frac",), num_samples=1, batch_size=1, seed=2)
    draw = draw_sample(2, 0, G.z_dim, G.c_dim, 0.125, 1.0)
    assert 0 <= draw.class_idx < G.c_dim
    c = torch.nn.functional.one_hot(torch.tensor([draw.class_idx]), G.c_dim).float()
    by_hand = equivariance_errors(G, G.mapping(torch.from_numpy(draw.z[None]), c), t_frac=draw.t_frac)["eqt_frac"]
    np.testing.assert_allclose(result.per_sample_sq_err["eqt_frac"], by_hand.sq_err_per_sample, rtol=1e-6)
    assert result.per_sample_mask["eqt_frac"][0] == by_hand.mask_sum


@pytest.mark.parametrize("translate, rotate_deg, min_db", [((0.1, -0.05), 0.0, 70.0), ((0.06, 0.03), 30.0, 45.0)])
def test_untransform_makes_the_generator_stand_still(sg3t, translate, rotate_deg, min_db):
    from eqviz.core.resampling import untransform
    from eqviz.core.input_transform import synthesize_posed

    ws = sg3t.mapping(torch.from_numpy(np.random.RandomState(11).randn(1, sg3t.z_dim)), None)
    moved = synthesize_posed(sg3t, ws, (translate, rotate_deg))
    still = sg3t.synthesis(ws)
    back, mask = untransform(moved, translate=translate, rotate_deg=rotate_deg)
    # A rotated view is band-limited by the resampling: compare with the same band limit.
    if rotate_deg:
        still, still_mask = apply_fractional_pseudo_rotation(still, np.radians(rotate_deg))
        mask = mask * still_mask
    assert mask.sum() > 0.4 * mask.numel()
    assert psnr_db(((back - still).square() * mask).sum(), mask.sum()) > min_db


def test_measurement_runs_without_tf32_and_restores_the_flags(sg3t):
    from eqviz.metrics.equivariance.run import compute_equivariance
    seen = []
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    progress = lambda done, total: seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32))
    compute_equivariance(sg3t, metrics="eqt_int", num_samples=1, batch_size=1, progress=progress)
    assert seen == [(False, False)]
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before
