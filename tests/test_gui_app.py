"""The real app in a real window (Xvfb in CI), driven through Dear PyGui's own callbacks.

Every test here needs a display; without one they skip and say how to run them.
"""
import subprocess
from pathlib import Path
import sys
import time

import numpy as np
import pytest
from PIL import Image

from app_driver import NEEDS_DISPLAY, NEEDS_XDOTOOL, fire, running_app, screenshot, settle, shown_region, step_until

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY]


@pytest.fixture(scope="module")
def app(reference_dir):
    with running_app(reference_dir / "pkl" / "sg3t_64.pkl") as app:
        yield app


def test_the_rendered_image_appears_in_the_window(app, tmp_path):
    shot = screenshot(app, tmp_path / "shot.png")
    region = shown_region(shot)
    zoom = region.shape[0] / 64
    assert zoom >= 1 and region.shape[0] == region.shape[1]
    centres_at = ((np.arange(64) + 0.5) * zoom).astype(int)
    centres = region[centres_at][:, centres_at]
    np.testing.assert_allclose(centres.astype(int), app.last_result.picture.astype(int), atol=3)
    assert region.std() > 1.0


def test_rotating_changes_the_image(app, tmp_path):
    before = shown_region(screenshot(app, tmp_path / "a.png")).astype(int)
    fire("transform_rot", 45.0)
    settle(app)
    after = shown_region(screenshot(app, tmp_path / "b.png")).astype(int)
    assert app.state.session.rotate_deg == 45.0
    # The reference model's random weights give a picture with a spatial spread of only ~1.4 grey
    # levels; a rotation moves pixels by about that much, far above the 0 of an unchanged frame.
    spatial_spread = before.std(axis=(0, 1)).mean()
    assert np.abs(after - before).mean() > 0.5 * spatial_spread > 0.3
    fire("transform_rot", 0.0)
    settle(app)


def test_untransform_holds_the_picture_still_under_translation(app):
    def centre():
        return app.last_result.image[16:48, 16:48, :3].copy()

    base = centre()
    fire("transform_tx", 0.125)
    settle(app)
    moved = centre()
    fire("transform_untransform", True)
    settle(app)
    held = centre()
    assert np.abs(held - base).mean() < 0.2 * np.abs(moved - base).mean()
    fire("transform_untransform", False)
    fire("transform_tx", 0.0)
    settle(app)


def test_keys_translate_rotate_and_reset(app):
    import dearpygui.dearpygui as dpg
    from eqviz.app.keys import handle_key
    handle_key(app, dpg.mvKey_Right, False, False)
    handle_key(app, dpg.mvKey_Down, False, False)
    handle_key(app, dpg.mvKey_Q, False, False)
    assert app.state.session.translate == (1 / 64, 1 / 64)
    assert app.state.session.rotate_deg == 1.0
    handle_key(app, dpg.mvKey_R, False, False)
    assert app.state.session.translate == (0.0, 0.0) and app.state.session.rotate_deg == 0.0
    handle_key(app, dpg.mvKey_Spacebar, False, False)
    assert app.state.anim.latent
    handle_key(app, dpg.mvKey_Spacebar, False, False)
    assert not app.state.anim.any_running
    settle(app)


def test_a_bad_file_shows_an_error_line_and_keeps_the_model(app, tmp_path):
    import dearpygui.dearpygui as dpg
    bad = tmp_path / "broken.pkl"
    bad.write_bytes(b"\x80\x04garbage")
    fire("checkpoint_path", str(bad))
    step_until(app, lambda: app.loading is None)
    app.step()
    status = dpg.get_value("status_error")
    assert app.status == (status, True)
    assert "broken.pkl" in status and "still showing sg3t_64.pkl" in status
    assert app.model.label == "sg3t_64.pkl"
    # The path box keeps what was typed, to correct; the recent list names the model still loaded.
    assert dpg.get_value("checkpoint_path") == str(bad)
    assert dpg.get_value("checkpoint_recent") == str(Path(app.model.path).resolve())


def test_save_image_writes_the_frame_at_full_resolution(app, tmp_path):
    from eqviz.app.capture import save_current_image
    path = tmp_path / "frame.png"
    save_current_image(app, str(path))
    saved = np.asarray(Image.open(path))
    np.testing.assert_array_equal(saved, app.last_result.picture)


def test_equivariance_panel_measures_in_the_background(app):
    import dearpygui.dearpygui as dpg
    for metric, on in (("eqt_int", True), ("eqt_frac", False), ("eqr", False)):
        dpg.set_value(f"eq_use_{metric}", on)
    dpg.set_value("eq_samples", 2)
    dpg.set_value("eq_batch", 2)
    dpg.get_item_callback("eq_run")("eq_run", None, None)
    assert app.jobs.active  # running while the UI keeps stepping
    step_until(app, lambda: not app.jobs.active, timeout=120)
    assert dpg.get_value("eq_result").startswith("EQ-T") and " dB " in dpg.get_value("eq_result")
    x, y = dpg.get_value("eq_series_eqt_int")[:2]
    assert len(x) == 2 and all(v > 40 for v in y)


@pytest.mark.parametrize("case, code", [("missing file", 2), ("damaged file", 2), ("stylegan2 asked to translate", 0)])
def test_a_scripted_run_exits_2_when_its_checkpoint_does_not_load(case, code, reference_dir, tmp_path):
    shot = tmp_path / "shot.png"
    if case == "missing file":  # refused before any window opens
        target = [str(tmp_path / "missing.pkl")]
    elif case == "damaged file":  # the window shows the load error, the run says it failed
        (tmp_path / "damaged.pkl").write_bytes(b"not a pickle")
        target = [str(tmp_path / "damaged.pkl")]
    else:  # loads; the frame's error is what the screenshot shows
        target = [str(reference_dir / "pkl" / "sg2_64.pkl"), "--translate", "0.1", "0"]
    proc = subprocess.run([sys.executable, "-m", "eqviz.cli.main", "gui", *target, "--screenshot", str(shot),
                           "--exit-after", "2", "--threads", "1"], capture_output=True, text=True, timeout=180)
    assert proc.returncode == code, proc.stderr
    if code:
        assert proc.stderr.strip().count("\n") == 0 and "eqviz gui: error: " in proc.stderr
    if case != "missing file":
        image = np.asarray(Image.open(shot))
        assert image.shape[0] > 100 and image.shape[1] > 100


def test_a_screenshot_that_cannot_be_written_is_refused_before_the_window(reference_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "eqviz.cli.main", "gui", str(reference_dir / "pkl" / "sg2_64.pkl"),
                           "--screenshot", "/proc/eqviz-shot.png", "--exit-after", "2"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2 and "--screenshot: cannot write to folder /proc" in proc.stderr


def _sleep_until_idle(app):
    """Step past the awake period after the last change, so that the next frame waits for input."""
    from eqviz.app.app import AWAKE_SECONDS
    settle(app)
    end = time.monotonic() + AWAKE_SECONDS + 0.1
    while time.monotonic() < end:
        app.step()


def _frames_in(app, seconds):
    start, end = app.frame_count, time.monotonic() + seconds
    while time.monotonic() < end:
        app.step()
    return app.frame_count - start


def test_an_unchanging_window_stops_drawing_and_animation_keeps_it_drawing(app):
    """Frame counts compared within this window, so that a busy machine (fewer frames all round) does
    not fail it: asleep it draws one idle redraw, animating it draws like a loop that never sleeps."""
    if not app.wake.available:
        pytest.skip("this Dear PyGui build does not export glfwPostEmptyEvent: the UI never sleeps")
    _sleep_until_idle(app)
    still = _frames_in(app, 1.5)
    assert still <= 2  # one idle redraw every IDLE_REDRAW_SECONDS (2 s)
    # Without the wake-up symbol the loop must not sleep at all: what this machine draws now, awake.
    post, app.wake._post = app.wake._post, None
    try:
        _sleep_until_idle(app)
        awake = _frames_in(app, 1.5)
    finally:
        app.wake._post = post
    assert awake >= 6, awake  # 4 a second at least, twice the most a sleeping window draws
    fire("transform_anim_r", True)
    try:
        animated = _frames_in(app, 1.5)
    finally:
        fire("transform_anim_r", False)
        fire("transform_rot", 0.0)
    assert animated >= 0.5 * awake, (animated, awake)
    settle(app)


def test_a_slow_render_wakes_a_sleeping_window_when_it_finishes(app, monkeypatch):
    from eqviz.app.frame_renderer import FrameRenderer
    if not app.wake.available:
        pytest.skip("this Dear PyGui build does not export glfwPostEmptyEvent: the UI never sleeps")
    render = FrameRenderer.render

    def slow_render(self, request):
        time.sleep(1.0)  # longer than the awake period: the UI is asleep when the frame is done
        return render(self, request)

    monkeypatch.setattr(FrameRenderer, "render", slow_render)
    before = app.stats.frames_shown
    fire("transform_rot", 12.0)
    step_until(app, lambda: app.stats.frames_shown > before, timeout=10)
    result = app.last_result
    # Displayed one stale UI frame (the one the wake-up ended) after the render finished, not at the
    # next idle redraw seconds later.
    assert app.stats.latency_ms[-1] / 1e3 - (result.finished_at - result.submitted_at) < 0.15
    monkeypatch.undo()
    fire("transform_rot", 0.0)
    settle(app)


@NEEDS_XDOTOOL
def test_input_wakes_a_sleeping_window_at_once(app):
    import dearpygui.dearpygui as dpg
    if not app.wake.available:
        pytest.skip("this Dear PyGui build does not export glfwPostEmptyEvent: the UI never sleeps")
    _sleep_until_idle(app)
    x, y = (int(v) + 20 for v in dpg.get_item_rect_min("main_image"))
    mover = subprocess.Popen(["xdotool", "sleep", "0.3", "mousemove", str(x), str(y)])
    try:
        start = time.monotonic()
        app.step()  # waits for input: the pointer moving over the window ends the wait
        waited = time.monotonic() - start
    finally:
        mover.wait(10)
    assert 0.2 < waited < 1.0, f"the sleeping frame returned after {waited:.2f} s"
    settle(app)


def test_stylegan2_explains_what_is_not_defined(app, reference_dir):
    """Runs last in this module: it swaps the shared app's model for the StyleGAN2 one."""
    import dearpygui.dearpygui as dpg
    fire("checkpoint_path", str(reference_dir / "pkl" / "sg2_64.pkl"))
    step_until(app, lambda: app.loading is None and app.model.kind == "stylegan2")
    settle(app)
    assert dpg.is_item_shown("eq_sg2_note") and not dpg.is_item_shown("eq_controls")
    assert dpg.is_item_shown("transform_sg2_note") and not dpg.is_item_shown("transform_controls")
    assert app.last_result.picture.shape == (64, 64, 3)
