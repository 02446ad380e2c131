"""The latent controls' logic, without a window: loaded W vectors, seed steps, slerp from a fractional seed."""
import numpy as np
import pytest
import torch

import eqviz.networks
from eqviz.core.latents import save_w
from eqviz.app.state import AppState
from eqviz.core.latents import grid_z, seed_ws, session_ws, z_from_seed
from eqviz.core.session import Session


@pytest.fixture(scope="module")
def sg3t(reference_dir):
    return eqviz.networks.load_generator(reference_dir / "pkl" / "sg3t_64.pkl")


# -- defect 1: a loaded W is final ---------------------------------------------------------------
@pytest.mark.parametrize("psi_now", [0.5, 0.3, 1.0])
def test_a_saved_w_loads_back_unchanged_whatever_psi_says(sg3t, tmp_path, psi_now):
    saved = session_ws(sg3t, Session(latent_x=5.0, psi=0.5)).numpy()
    path = tmp_path / "w.npz"
    save_w(str(path), saved)
    loaded = session_ws(sg3t, Session(latent_x=0.0, psi=psi_now, w_path=str(path)))
    np.testing.assert_array_equal(loaded.numpy(), saved)


def test_style_mixing_onto_a_loaded_w_truncates_only_the_mixed_layers(sg3t, tmp_path):
    final = session_ws(sg3t, Session(latent_x=5.0, psi=0.5)).numpy()
    path = tmp_path / "w.npy"
    save_w(str(path), final)
    mixed = session_ws(sg3t, Session(psi=0.7, w_path=str(path), mix_seed=3, mix_range=(2, 6))).numpy()
    w3 = seed_ws(sg3t, 3).numpy()  # psi 1
    w_avg = sg3t.mapping.w_avg.numpy()
    np.testing.assert_array_equal(mixed[:, :2], final[:, :2])
    np.testing.assert_array_equal(mixed[:, 6:], final[:, 6:])
    np.testing.assert_allclose(mixed[:, 2:6], w_avg + 0.7 * (w3[:, 2:6] - w_avg), atol=1e-5)


# -- defect 2: seed steps start from the position shown --------------------------------------------
def test_plus_after_an_animation_goes_to_the_next_whole_seed_from_where_it_stands():
    state = AppState()
    state.set_seed(205)
    assert (state.session.latent_x, state.session.latent_y, state.session.seed) == (5.0, 2.0, 205)
    state.anim.latent, state.anim.latent_speed = True, 1.0
    state.advance(0.25)
    state.advance(1.73)   # the walk is at x = 6.98
    assert state.session.latent_x == pytest.approx(6.98)
    state.step_seed(+1)
    assert (state.session.latent_x, state.session.latent_y, state.session.seed) == (7.0, 2.0, 207)


@pytest.mark.parametrize("x, y, direction, expected", [
    (7.67, 0.0, +1, (8.0, 0.0)), (7.67, 0.0, -1, (7.0, 0.0)), (7.0, 0.0, -1, (6.0, 0.0)),
    (7.0, 0.0, +1, (8.0, 0.0)), (-0.5, 1.6, -1, (-1.0, 2.0)), (2.5, 0.4, +1, (3.0, 0.0))])
def test_seed_steps_go_to_the_neighbouring_whole_seed(x, y, direction, expected):
    state = AppState()
    state.session.latent_x, state.session.latent_y = x, y
    state.step_seed(direction)
    assert (state.session.latent_x, state.session.latent_y) == expected


def test_snap_goes_to_the_nearest_whole_seed():
    state = AppState()
    state.session.latent_x, state.session.latent_y = 6.7, 1.2
    state.snap_seed()
    assert (state.session.latent_x, state.session.latent_y, state.session.seed) == (7.0, 1.0, 107)


# -- defect 3: slerp in Z from a fractional seed ----------------------------------------------------
def _numpy_grid_z(x, y, z_dim):
    """Bilinear blend of the four corners' Z, rescaled to the corners' weighted mean norm."""
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    fx, fy = x - x0, y - y0
    corners = [((x0, y0), (1 - fx) * (1 - fy)), ((x0 + 1, y0), fx * (1 - fy)),
               ((x0, y0 + 1), (1 - fx) * fy), ((x0 + 1, y0 + 1), fx * fy)]
    zs = [np.random.RandomState(cx + 100 * cy).randn(z_dim) for (cx, cy), _ in corners]
    blend = sum(w * z for (_, w), z in zip(corners, zs))
    norm = sum(w * np.linalg.norm(z) for (_, w), z in zip(corners, zs))
    return blend / np.linalg.norm(blend) * norm


def test_grid_z_is_the_seeds_z_at_whole_positions_and_a_normalised_blend_between():
    np.testing.assert_array_equal(grid_z(3.0, 1.0, 64), z_from_seed(103, 64))
    np.testing.assert_allclose(grid_z(1.5, 0.15, 64)[0], _numpy_grid_z(1.5, 0.15, 64), rtol=1e-12)


def test_slerp_in_z_starts_at_the_fractional_seed_itself_not_the_seed_below(sg3t):
    session = Session(latent_x=1.5, latent_y=0.15, seed_b=1, interp_t=0.0, interp_space="z")
    at_a = session_ws(sg3t, session)
    assert torch.equal(at_a, session_ws(sg3t, Session(latent_x=1.5, latent_y=0.15)))  # t = 0 is A, exactly
    assert (at_a - seed_ws(sg3t, 1)).abs().max() > 0.1
    session.interp_t = 1e-4  # and the path leaves A continuously, from the grid position's own Z
    torch.testing.assert_close(session_ws(sg3t, session), at_a, atol=1e-3, rtol=0)
    session.interp_t = 0.5
    halfway = session_ws(sg3t, session)
    z = torch.from_numpy(_numpy_grid_z(1.5, 0.15, sg3t.z_dim)[None]).float()
    assert (halfway - at_a).abs().max() > 0.1
    assert (halfway - sg3t.mapping(z, torch.zeros([1, 0]))).abs().max() > 0.1
    session.interp_t = 1.0
    torch.testing.assert_close(session_ws(sg3t, session), seed_ws(sg3t, 1), atol=1e-5, rtol=1e-5)


# -- StyleGAN2 noise seed -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sg2(reference_dir):
    return eqviz.networks.load_generator(reference_dir / "pkl" / "sg2_64.pkl")


def test_random_noise_is_redrawn_only_for_a_new_noise_seed(sg2):
    from eqviz.app.frame_renderer import FrameRenderer, build_request
    state = AppState(resolution=64)
    state.session.latent_x, state.session.noise_mode, state.session.noise_seed = 3.0, "random", 7
    renderer = FrameRenderer(sg2, "cpu")
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = renderer.render(build_request(state, 1)).picture
    again = renderer.render(build_request(state, 2)).picture
    assert torch.equal(torch.rand(3), expected_next)  # the global generator was left as it was
    np.testing.assert_array_equal(first, again)
    state.session.noise_seed = 8
    other = renderer.render(build_request(state, 3)).picture
    assert np.abs(other.astype(int) - first.astype(int)).mean() > 0.5
    state.session.noise_mode = "const"
    const = renderer.render(build_request(state, 4)).picture
    assert np.abs(const.astype(int) - first.astype(int)).mean() > 0.5


def test_noise_animation_steps_the_noise_seed_and_renders_only_when_it_changes():
    state = AppState()
    state.anim.noise, state.anim.noise_speed = True, 4.0
    assert not state.advance(0.1)           # position 0.4: still noise seed 0
    assert state.advance(0.2) and state.session.noise_seed == 1
    assert state.advance(0.5) and state.session.noise_seed == 3


# -- per-layer style mixing -------------------------------------------------------------------------
def test_style_mixing_takes_exactly_the_chosen_layers_from_the_mix_seed(sg3t, tmp_path):
    session = Session(latent_x=1.0, mix_seed=3, mix_range=(0, 2), mix_layers=(1, 5, 99))
    mixed = session_ws(sg3t, session).numpy()
    a, b = seed_ws(sg3t, 1).numpy(), seed_ws(sg3t, 3).numpy()
    for i in range(sg3t.num_ws):
        np.testing.assert_array_equal(mixed[0, i], (b if i in (1, 5) else a)[0, i])
    session.save(tmp_path / "s.json")
    assert Session.load(tmp_path / "s.json").mix_layers == (1, 5, 99)


def test_without_chosen_layers_the_range_mixes():
    from eqviz.core.latents import mixed_layers
    assert mixed_layers(Session(mix_range=(2, 5)), 16) == [2, 3, 4]
    assert mixed_layers(Session(mix_range=(12, 20)), 14) == [12, 13]
    assert mixed_layers(Session(mix_range=(2, 5), mix_layers=(7, 3)), 16) == [3, 7]
