"""App state, recent list, zoom and file helpers: the parts of the app that need neither torch nor a window."""
import json
import math

import numpy as np
import pytest

from eqviz.app.capture import frame_buffer_to_uint8
from eqviz.core.latents import save_w
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


def test_info_line_shows_the_seed_as_typed_and_what_is_set():
    from eqviz.app.viewer import info_line
    state = AppState()
    state.set_seed(205)
    line = info_line(state, zoom=6.5, transformable=False)
    assert line.startswith("seed 205 ") and "zoom 650% (fit)" in line and "5.00" not in line
    assert "class" not in line and "cutoff" not in line and "translate" not in line
    state.session.latent_x, state.session.class_idx, state.session.cutoff = 6.98, 3, 8
    state.session.seed_b, state.session.interp_t = 1, 0.25
    line = info_line(state, zoom=2.0, transformable=True)
    assert "seed 206.98 <-> 1 at t 0.25 (lerp W)" in line and "class 3" in line and "cutoff 8" in line
    assert "rotate +0.0 deg" in line


@pytest.mark.parametrize("psnr, says", [(203.5, "exact"), (math.inf, "exact"), (48.27, "PSNR 48.3 dB")])
def test_live_psnr_says_exact_for_an_identical_frame(psnr, says):
    from eqviz.app.viewer import psnr_text
    assert says in psnr_text(psnr)


@pytest.mark.parametrize("area, frame, live_error, exact, zoom", [
    ((800, 800), (64, 64), False, False, (800 - 16) / 64),       # a square area: the width (two gaps) limits
    ((1000, 500), (64, 64), False, False, (500 - 8) / 64),       # the height limits
    ((1000, 800), (64, 64), True, False, (1000 - 24) / 128),     # two columns side by side
    ((800, 800), (64, 64), False, True, 12.0),                   # pixel-exact rounds down
    ((300, 300), (1024, 1024), False, True, 1 / 4),              # ... or to 1/n when shrinking
])
def test_fit_zoom_shows_the_whole_frame(area, frame, live_error, exact, zoom):
    from eqviz.app.viewer import ERROR_COLUMN_EXTRA, GAP, fit_zoom_for
    got = fit_zoom_for(area, frame, live_error, exact)
    assert got == pytest.approx(zoom)
    columns = 2 if live_error else 1
    assert columns * frame[0] * got + GAP * (columns + 1) <= area[0]
    assert frame[1] * got + (ERROR_COLUMN_EXTRA if live_error else GAP) <= area[1]


def test_info_line_says_what_the_frame_is_made_of():
    from eqviz.app.viewer import info_line
    from eqviz.directions.edits import Edit
    state = AppState()
    s = state.session
    s.mix_seed, s.mix_range, s.mix_layers = 7, (4, 16), (4, 5, 6, 9, 10, 11, 12, 13, 14, 15)  # ws 7 and 8 unticked
    s.noise_mode = "random"
    s.edits = [Edit(direction=(1.0, 0.0), alpha=1.5, scale=1.0, layers=(0, 4), label="sefa 3")]
    line = info_line(state, zoom=1.0, transformable=True, num_ws=16, has_noise=False)
    assert "styles 4-6, 9-15 from seed 7" in line and "edits: sefa 3 +1.50" in line
    assert "noise" not in line  # a StyleGAN3 has no noise inputs
    assert "noise random, seed 0" in info_line(state, zoom=1.0, transformable=False, num_ws=16, has_noise=True)


def test_seed_steps_stop_at_nvidias_seed_range():
    state = AppState()
    state.set_seed(2**31 - 1)
    state.step_seed(+1)
    assert state.session.seed == 2**31  # not -2^31
    state.set_seed(2**32 - 1)
    state.step_seed(+1)
    assert state.session.seed == 2**32 - 1
    state.set_seed(0)
    state.step_seed(-1)
    assert state.session.seed == 0


def test_a_model_switch_drops_a_w_and_edits_unless_the_session_names_the_model(tmp_path):
    from eqviz.directions.edits import Edit
    state = AppState()
    state.session.checkpoint, state.session.w_path = str(tmp_path / "a.pkl"), str(tmp_path / "w.npz")
    state.session.edits = [Edit(direction=(1.0,), alpha=1.0, scale=1.0, layers=(0, 1))]
    assert state.forget_model(str(tmp_path / "a.pkl")) == []  # the same model (a loaded session's)
    assert state.session.w_path is not None and state.session.edits
    assert state.forget_model(str(tmp_path / "b.pkl")) == ["the loaded W", "the direction edits"]
    assert state.session.w_path is None and state.session.edits == []


def test_key_events_keep_the_modifiers_held_when_each_key_was_pressed():
    import dearpygui.dearpygui as dpg
    from eqviz.app.keys import KeyEvents
    events = KeyEvents()
    # One frame: Shift down and Q down (a quick Shift+Q); the next: Q up, Shift up, and E down.
    events.pressed(dpg.mvKey_Q)
    events.pressed(dpg.mvKey_LShift)  # Dear PyGui lists a frame's presses by key code, not by time
    assert events.take() == [(dpg.mvKey_Q, True, False)]
    events.released(dpg.mvKey_Q)
    events.released(dpg.mvKey_LShift)
    events.pressed(dpg.mvKey_E)
    assert events.take() == [(dpg.mvKey_E, False, False)]
    events.pressed(dpg.mvKey_RControl)
    assert events.take() == []
    events.pressed(dpg.mvKey_S)  # Ctrl still held from an earlier frame
    assert events.take() == [(dpg.mvKey_S, False, True)]


def test_key_events_give_a_modifier_released_with_its_key_to_that_key():
    import dearpygui.dearpygui as dpg
    from eqviz.app.keys import KeyEvents
    events = KeyEvents()
    imgui_shift = 664  # ImGuiKey_ReservedForModShift: reported beside Shift, no Dear PyGui name
    # Frames as xdotool's quick Shift+E chords arrive (seen under Xvfb): Shift down, then E down and
    # Shift up in one frame (E up waits for the next frame, one change per key).
    for frame in range(2):
        events.pressed(dpg.mvKey_LShift)
        events.pressed(imgui_shift)
        if frame:
            events.released(dpg.mvKey_E)
        assert events.take() == []
        events.pressed(dpg.mvKey_E)
        events.released(dpg.mvKey_LShift)
        events.released(imgui_shift)
        assert events.take() == [(dpg.mvKey_E, True, False)]
    events.released(dpg.mvKey_E)
    assert events.take() == []
    events.pressed(dpg.mvKey_E)  # Shift went with the last E
    assert events.take() == [(dpg.mvKey_E, False, False)]


@pytest.mark.parametrize("data, path", [
    ({"file_path_name": "/work//tmp/a.png", "file_name": "/tmp/a.png", "current_path": "/work"}, "/tmp/a.png"),
    ({"file_path_name": "/work/a.png", "file_name": "a.png", "current_path": "/work"}, "/work/a.png"),
    # folder dialogs: nothing in file_name, the typed folder joined onto the dialog's
    ({"file_path_name": "/ckpts//tmp/x/dirs", "file_name": "", "current_path": "/ckpts//tmp/x/dirs"}, "/tmp/x/dirs"),
    ({"file_path_name": "/ckpts/runs", "file_name": "", "current_path": "/ckpts/runs"}, "/ckpts/runs"),
    # a typed extension stays, whatever the dialog's filter
    ({"file_path_name": "/work/edits.npz", "file_name": "edits.json", "current_path": "/work"}, "/work/edits.json"),
    ({"file_path_name": "", "file_name": ""}, None)])
def test_a_typed_absolute_path_stays_absolute(data, path):
    from eqviz.app.widgets import chosen_path
    assert chosen_path(data) == path


def test_a_typed_home_path_is_expanded(monkeypatch, tmp_path):
    from eqviz.app.widgets import chosen_path
    monkeypatch.setenv("HOME", str(tmp_path))
    assert chosen_path({"file_path_name": "/work/~/w.npz", "file_name": "~/w.npz"}) == str(tmp_path / "w.npz")


@pytest.mark.parametrize("mix_range, num_ws, clamped", [((8, 16), 16, (8, 16)), ((8, 16), 10, (8, 10)),
                                                        ((12, 16), 8, (4, 8)), ((0, 3), 14, (0, 3))])
def test_style_mix_range_is_clamped_to_the_model_and_takes_some_layer(mix_range, num_ws, clamped):
    from eqviz.app.panels.latent import clamp_mix_range
    assert clamp_mix_range(mix_range, num_ws) == clamped


def test_browsing_a_folder_lists_its_checkpoints_by_name(tmp_path):
    from eqviz.app.recent import list_checkpoints
    for name in ("b.pkl", "a.safetensors", "notes.txt", "c.PKL"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.pkl").mkdir()
    assert list_checkpoints(tmp_path) == [str(tmp_path / n) for n in ("a.safetensors", "b.pkl", "c.PKL")]


def test_browsing_a_missing_folder_says_what_to_give(tmp_path):
    from eqviz.app.recent import list_checkpoints
    from eqviz.errors import EqvizError
    with pytest.raises(EqvizError, match="is not a folder"):
        list_checkpoints(tmp_path / "nope")
