"""State -> render request -> frame renderer / worker -> result, with the 64-px reference models."""
import copy
import time

import numpy as np
import pytest
import torch

import eqviz.networks
from eqviz.networks.build import build_generator
from eqviz.networks.config import config_from_init_kwargs
from eqviz.app.frame_renderer import FrameRenderer, RenderResult, build_request
from eqviz.app.render_worker import LoadResult, RenderWorker
from eqviz.app.state import AppState
from eqviz.core.images import to_uint8
from eqviz.core.rendering import render_session


@pytest.fixture(scope="module")
def sg3(reference_dir):
    return eqviz.networks.load_generator(reference_dir / "pkl" / "sg3t_64.pkl")


@pytest.fixture(scope="module")
def sg2(reference_dir):
    return eqviz.networks.load_generator(reference_dir / "pkl" / "sg2_64.pkl")


def _state(**session):
    state = AppState(resolution=64)
    for name, value in session.items():
        setattr(state.session, name, value)
    return state


def _render(G, state, stamp=1):
    return FrameRenderer(G, "cpu").render(build_request(state, stamp))


def test_request_is_a_snapshot_the_ui_can_keep_editing():
    state = _state(latent_x=3.0)
    request = build_request(state, 7)
    state.session.latent_x = 4.0
    state.view.layer = "L0_36_64"
    assert request.session.latent_x == 3.0 and request.view.layer == "output" and request.stamp == 7


def test_output_view_shows_exactly_what_render_session_makes(sg3):
    state = _state(latent_x=5.0, psi=0.7, translate=(0.1, -0.05), rotate_deg=20.0)
    result = _render(sg3, state)
    assert result.error is None
    expected = to_uint8(render_session(sg3, state.session))
    np.testing.assert_array_equal(result.picture, expected)
    assert result.image.dtype == np.float32 and result.image.shape == (64, 64, 4)
    assert result.image.flags.c_contiguous and np.all(result.image[..., 3] == 1.0)
    np.testing.assert_allclose(result.image[..., :3] * 255, expected, atol=1e-3)
    assert result.ws.shape == (1, sg3.num_ws, sg3.w_dim)
    assert set(result.timings_ms) == {"mapping", "synthesis", "post"}


def test_layer_view_shows_a_layer_and_leaves_no_hook_behind(sg3):
    state = _state(latent_x=1.0)
    state.view.layer, state.view.channel_mode, state.view.channel = "L2_36_64", "single", 5
    result = _render(sg3, state)
    assert result.error is None and result.layer_shape == (64, 36, 36)
    grey = result.image[..., :3]
    np.testing.assert_array_equal(grey[..., 0], grey[..., 1])
    assert grey.min() == 0.0 and grey.max() == 1.0  # per-frame normalisation
    assert all(not m._forward_hooks for m in sg3.modules())


def test_unknown_layer_is_an_error_sentence(sg3):
    state = _state()
    state.view.layer = "L99"
    assert "no layer 'L99'" in _render(sg3, state).error


def test_fft_view_is_centred_power_in_db(sg3):
    state = _state(latent_x=2.0)
    state.view.fft = True
    image = _render(sg3, state).image[..., 0]
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5  # +-50 dB about the mean power
    assert image[32, 32] == image.max()  # the DC term sits in the middle after fftshift


def test_untransform_holds_an_equivariant_image_still(sg3):
    base = _render(sg3, _state(latent_x=4.0)).image[16:48, 16:48, :3]
    moved = _render(sg3, _state(latent_x=4.0, translate=(0.125, 0.0))).image[16:48, 16:48, :3]
    held = _render(sg3, _state(latent_x=4.0, translate=(0.125, 0.0), untransform=True)).image[16:48, 16:48, :3]
    assert np.abs(held - base).mean() < 0.1 * np.abs(moved - base).mean()


def test_live_error_map_for_a_whole_pixel_shift_is_near_perfect(sg3):
    state = _state(latent_x=4.0, translate=(4 / 64, 0.0))
    state.view.live_error = True
    result = _render(sg3, state)
    assert result.error_map.shape == (64, 64, 4)
    assert result.error_psnr_db > 60


def test_nan_weights_become_an_error_sentence(sg3):
    broken = copy.deepcopy(sg3)
    with torch.no_grad():
        next(p for n, p in broken.named_parameters() if n.startswith("synthesis")).fill_(float("nan"))
    result = _render(broken, _state())
    assert result.image is None and "NaN" in result.error


def test_stylegan2_cannot_be_translated(sg2):
    result = _render(sg2, _state(translate=(0.1, 0.0)))
    assert "no input transform" in result.error


def test_stylegan2_output_and_noise_modes_render_nvidias_frames(sg2, reference_dir):
    """Every case of NVIDIA's StyleGAN2 render goldens (noise const and none, psi and cutoff) as the app shows it."""
    golden = np.load(reference_dir / "golden" / "sg2_64_render.npz")
    assert set(golden["noise_mode"]) == {"const", "none"}
    for i in range(len(golden["seed"])):
        cutoff = None if golden["cutoff"][i] < 0 else int(golden["cutoff"][i])
        result = _render(sg2, _state(latent_x=float(golden["seed"][i]), psi=float(golden["psi"][i]), cutoff=cutoff,
                                     noise_mode=str(golden["noise_mode"][i])))
        assert result.error is None
        want = to_uint8(torch.from_numpy(golden["img"][i])).astype(np.int16)
        got = np.rint(result.image[..., :3] * 255).astype(np.int16)
        assert np.abs(got - want).max() <= 1, f"case {i}"  # NVIDIA's images differ by <= 2e-6 across CPUs


def _wait(worker, until, timeout=60.0):
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += worker.poll()
        if until(got):
            return got
        time.sleep(0.01)
    raise AssertionError(f"worker did not deliver in {timeout} s: {got}")


def test_preview_resolution_renders_the_stylegan2_image_before_its_last_block(sg2):
    state = _state(latent_x=2.0)
    state.view.preview_divisor = 2
    result = _render(sg2, state)
    assert result.error is None and result.display_scale == 2
    with torch.no_grad():
        expected = to_uint8(sg2.synthesis(torch.from_numpy(result.ws), stop_at=32))
    np.testing.assert_array_equal(result.picture, expected)
    full = _render(sg2, _state(latent_x=2.0))
    assert full.picture.shape == (64, 64, 3) and full.display_scale == 1
    assert full.timings_ms["synthesis"] > 0


def test_preview_resolution_is_ignored_where_the_generator_has_none(sg3):
    state = _state(latent_x=2.0)
    state.view.preview_divisor = 4
    result = _render(sg3, state)
    assert result.display_scale == 1 and result.picture.shape == (64, 64, 3)


def test_preview_choices_follow_the_model():
    from eqviz.app.model import describe_generator
    from eqviz.app.panels.performance import preview_choices
    from eqviz.app.state import ViewState

    kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=32, img_channels=3, mapping_kwargs=dict(num_layers=1),
                  channel_base=64, channel_max=8)
    for architecture, expected in (("skip", ["full", "1/2", "1/4", "1/8"]), ("orig", ["full"])):
        G = build_generator(config_from_init_kwargs("stylegan2", dict(kwargs, architecture=architecture)))
        assert preview_choices(describe_generator(G, "x.pkl", "cpu")) == expected
    assert ViewState.from_dict({"preview_divisor": 3}).preview_divisor == 1


def test_worker_renders_only_the_latest_of_a_burst(sg3):
    worker = RenderWorker().start()
    try:
        worker.use_generator(sg3)
        _wait(worker, lambda got: any(isinstance(g, LoadResult) for g in got))
        state = _state()
        for stamp in range(1, 21):
            state.session.latent_x = float(stamp)
            worker.submit(build_request(state, stamp))
        got = _wait(worker, lambda got: any(getattr(g, "stamp", 0) == 20 for g in got))
        stamps = [g.stamp for g in got]
        assert stamps == sorted(stamps) and len(stamps) < 20
    finally:
        worker.stop()


def test_failed_load_keeps_the_previous_model(sg3, tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"this is not a checkpoint")
    worker = RenderWorker().start()
    try:
        worker.use_generator(sg3)
        worker.load(str(bad))
        loads = _wait(worker, lambda got: any(isinstance(g, LoadResult) and g.error for g in got))
        failure = [g for g in loads if isinstance(g, LoadResult) and g.error]
        assert "bad.pkl" in failure[-1].error and failure[-1].info is None
        worker.submit(build_request(_state(latent_x=1.0), 1))
        frame = _wait(worker, lambda got: any(getattr(g, "stamp", 0) == 1 for g in got))[-1]
        assert frame.error is None and frame.image is not None
    finally:
        worker.stop()


def test_missing_checkpoint_is_one_sentence(tmp_path):
    worker = RenderWorker().start()
    try:
        worker.load(str(tmp_path / "nowhere.pkl"))
        result = _wait(worker, lambda got: bool(got))[0]
        assert result.info is None and "does not exist" in result.error
    finally:
        worker.stop()


def test_jobs_share_the_rendered_generator_because_rendering_never_writes_its_transform(sg3):
    worker = RenderWorker().start()
    try:
        worker.use_generator(sg3)
        _wait(worker, lambda got: bool(got))
        assert worker.generator() is sg3
        state = AppState()
        state.session.translate, state.session.rotate_deg = (0.1, -0.05), 30.0
        state.view.live_error = True
        worker.submit(build_request(state, 1))
        result = _wait(worker, lambda got: any(isinstance(r, RenderResult) for r in got))[-1]
        assert result.error is None
        torch.testing.assert_close(sg3.synthesis.input.transform, torch.eye(3), rtol=0, atol=0)
    finally:
        worker.stop()


def test_the_app_loads_through_the_one_memory_guard_and_can_raise_its_limit(reference_dir):
    path = reference_dir / "pkl" / "sg3t_64.pkl"
    worker = RenderWorker().start()
    try:
        worker.load(str(path), max_memory=path.stat().st_size + 1)  # the file fits, the generator does not
        refused = _wait(worker, lambda got: bool(got))[0]
        assert refused.info is None and "raise the memory limit" in refused.error and "--" not in refused.error
        assert refused.memory_needed > path.stat().st_size  # what the offer to raise the limit starts from
        worker.load(str(path), max_memory=int(refused.memory_needed * 1.25))
        assert _wait(worker, lambda got: bool(got))[0].info is not None
    finally:
        worker.stop()
