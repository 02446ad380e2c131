"""App state, recent list, zoom and file helpers: the parts of the app that need neither torch nor a window."""
import json
import math

import numpy as np
import pytest

from eqviz.app.capture import frame_buffer_to_uint8
from eqviz.app.panels.latent import save_w
from eqviz.app.recent import MAX_RECENT, load_recent, remember
from eqviz.app.state import AppState, ViewState
from eqviz.app.viewer import effective_zoom
from eqviz.core.session import Session


def test_translation_snaps_to_whole_pixels_when_asked():
    state = AppState(resolution=64)
    state.anim.round_to_pixels = True
    state.set_translate(0.1, -0.03)
    assert state.session.translate == (6 / 64, -2 / 64)


def test_translation_is_exact_without_snapping():
    state = AppState(resolution=64)
    state.set_translate(0.1, -0.03)
    assert state.session.translate == (0.1, -0.03)


@pytest.mark.parametrize("degrees, wrapped", [(190.0, -170.0), (-180.0, 180.0), (540.0, 180.0), (45.0, 45.0)])
def test_rotation_wraps_into_half_open_circle(degrees, wrapped):
    state = AppState()
    state.set_rotate(degrees)
    assert state.session.rotate_deg == pytest.approx(wrapped)


def test_every_edit_bumps_the_revision():
    state = AppState()
    before = state.revision
    state.set_rotate(3.0)
    state.set_translate(0.1, 0.0)
    assert state.revision == before + 2


def test_latent_animation_moves_seed_by_speed_times_time():
    state = AppState()
    state.anim.latent, state.anim.latent_speed = True, 0.5
    assert state.advance(0.2)
    assert state.session.latent_x == pytest.approx(0.1)


def test_translation_animation_stays_on_its_circle():
    state = AppState(resolution=64)
    state.anim.translate, state.anim.translate_radius, state.anim.translate_speed = True, 0.2, 0.25
    state.advance(1.0)  # a quarter turn
    tx, ty = state.session.translate
    assert math.hypot(tx, ty) == pytest.approx(0.2)
    assert (tx, ty) == pytest.approx((0.0, 0.2), abs=1e-12)


def test_nothing_changes_when_no_animation_runs():
    state = AppState()
    assert not state.advance(1.0)
    assert state.session.latent_x == 0.0


def test_space_pauses_and_resumes_the_same_animations():
    state = AppState()
    state.anim.rotate = True
    state.toggle_animation()
    assert not state.anim.any_running
    state.toggle_animation()
    assert state.anim.rotate and not state.anim.latent


def test_space_starts_the_seed_walk_when_nothing_was_set():
    state = AppState()
    state.toggle_animation()
    assert state.anim.latent


def test_reset_clears_transform_and_its_animations():
    state = AppState(resolution=64)
    state.set_translate(0.2, 0.1)
    state.set_rotate(30)
    state.anim.rotate = True
    state.reset_transform()
    assert state.session.translate == (0.0, 0.0) and state.session.rotate_deg == 0.0 and not state.anim.rotate


def test_view_settings_travel_inside_the_session_json(tmp_path):
    state = AppState()
    state.view.layer, state.view.zoom, state.view.fft = "L3_36_64", 4.0, True
    state.anim.round_to_pixels = True
    path = tmp_path / "s.json"
    state.session_for_saving().save(path)
    restored = AppState()
    restored.adopt_session(Session.load(path))
    assert (restored.view.layer, restored.view.zoom, restored.view.fft) == ("L3_36_64", 4.0, True)
    assert restored.anim.round_to_pixels


def test_unknown_view_values_fall_back_to_defaults():
    view = ViewState.from_dict({"channel_mode": "cmyk", "zoom": 1e9, "bogus": 1})
    assert view.channel_mode == "rgb" and view.zoom == 32.0


@pytest.mark.parametrize("zoom, exact, shown", [(2.6, True, 3.0), (0.3, True, 1 / 3), (2.6, False, 2.6), (100, True, 32.0)])
def test_pixel_exact_zoom_is_whole_or_reciprocal(zoom, exact, shown):
    assert effective_zoom(zoom, exact) == pytest.approx(shown)


def test_recent_list_is_newest_first_without_duplicates(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    a, b = tmp_path / "a.pkl", tmp_path / "b.pkl"
    remember(str(a))
    remember(str(b))
    remember(str(a))
    assert load_recent() == [str(a), str(b)]
    assert json.loads((tmp_path / "eqviz" / "recent.json").read_text()) == [str(a), str(b)]


def test_recent_list_keeps_at_most_its_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for i in range(MAX_RECENT + 3):
        remember(str(tmp_path / f"{i}.pkl"))
    assert len(load_recent()) == MAX_RECENT


def test_damaged_recent_file_means_empty_history(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "eqviz").mkdir()
    (tmp_path / "eqviz" / "recent.json").write_bytes(b"\xff{not json")
    assert load_recent() == []


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_saved_w_has_the_projector_layout(tmp_path, suffix):
    ws = np.arange(2 * 3, dtype=np.float32).reshape(1, 2, 3)
    path = tmp_path / f"w{suffix}"
    save_w(str(path), ws)
    loaded = np.load(path)
    w = loaded["w"] if suffix == ".npz" else loaded
    np.testing.assert_array_equal(w, ws)


def test_frame_buffer_becomes_rgb_bytes():
    buffer = np.array([0.0, 0.5, 1.0, 1.0] * 6, dtype=np.float32)  # 3 wide, 2 high
    img = frame_buffer_to_uint8(buffer, 3, 2)
    assert img.shape == (2, 3, 3)
    assert img[0, 0].tolist() == [0, 128, 255]


def test_frame_rate_counts_only_the_recent_frames_after_an_idle_time():
    from collections import deque
    from eqviz.app.stats import RATE_SECONDS, FrameStats
    old = [i * 0.1 for i in range(60)]                        # 10 fps long ago
    recent = [100.0 + i / 9.6 for i in range(30)]             # then, after a sleep, 9.6 fps
    times = deque(old + recent)
    rate = FrameStats.frame_rate(times, now=recent[-1])
    assert rate == pytest.approx(9.6, rel=1e-9)
    assert FrameStats.frame_rate(times, now=recent[-1] + RATE_SECONDS + 0.1) == 0.0  # nothing lately
    assert len(times) == 0  # and the old timestamps are gone
