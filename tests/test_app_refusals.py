"""Input that does not fit the open model, in the real app window (Xvfb in CI): the app says why in
one sentence and keeps what it had; a job that fails says its reason and ends its progress line."""
import dataclasses

import numpy as np
import pytest

from app_driver import (DIALOG_OK, NEEDS_DISPLAY, NEEDS_XDOTOOL, click, dialog_point, fire, focus_window, open_dialog,
                        panel_of, running_app, send, settle, step_until, type_in_dialog)

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY, NEEDS_XDOTOOL]


@pytest.fixture(scope="module")
def app(reference_dir):
    with running_app(reference_dir / "pkl" / "sg3t_64_cond.pkl") as app:
        yield app



def jobs_done(app):
    step_until(app, lambda: not app.jobs.active)
    settle(app)


def load_w_by_dialog(app, path):
    window = focus_window(app)
    open_dialog(app, "load_w_dialog")
    type_in_dialog(app, window, str(path))
    click(app, window, *dialog_point(DIALOG_OK))
    settle(app)


def test_a_keyframe_file_made_on_an_unconditional_model_is_refused_and_the_list_kept(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.keyframes.animation import Animation, Keyframe
    keyframes = panel_of(app, "KeyframesPanel")
    keyframes.add(app)
    own = keyframes.animation()
    unconditional = dataclasses.replace(app.state.session, class_idx=None, rotate_deg=-150.0)
    Animation((Keyframe(0.0, unconditional), Keyframe(2.0, unconditional))).save(tmp_path / "kf.json")
    dpg.set_value("kf_file", str(tmp_path / "kf.json"))
    fire("kf_load")
    jobs_done(app)
    text, is_error = app.status
    assert is_error and "does not fit sg3t_64_cond.pkl" in text and "conditional" in text, text
    assert keyframes.animation() == own and app.state.session.rotate_deg == 0.0


def test_a_w_of_another_models_shape_is_refused_and_the_seeds_stay(app, tmp_path):
    G = app.generator()
    path = tmp_path / "w10.npz"
    np.savez(path, w=np.zeros([1, G.num_ws - 6, G.w_dim], np.float32))
    load_w_by_dialog(app, path)
    text, is_error = app.status
    assert is_error and f"this model wants [1, {G.num_ws}, {G.w_dim}]" in text and "stays as it was" in text, text
    assert app.state.session.w_path is None


def test_a_failed_keyframe_render_says_why_and_ends_its_progress_line(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.core.latents import save_w
    keyframes = panel_of(app, "KeyframesPanel")
    w_file = tmp_path / "w.npz"
    save_w(str(w_file), app.last_result.ws)
    load_w_by_dialog(app, w_file)
    assert app.state.session.w_path == str(w_file)
    keyframes.keys.playhead = 1.0
    keyframes.add(app)
    fire("latent_clear_w")
    w_file.unlink()  # the keyframe's W is gone before the render reads it
    dpg.set_value("kf_out", str(tmp_path / "video"))
    fire("kf_render")
    assert "rendering" in dpg.get_value("status_line")
    jobs_done(app)
    about = dpg.get_value("kf_about")
    assert "(failed: " in about and "w.npz" in about, about
    assert app.status[1] and "rendering" not in dpg.get_value("status_line")


def only_panel_open(app, title):
    """Collapse every other panel, so the whole panel is on screen for clicks."""
    import dearpygui.dearpygui as dpg
    for header in dpg.get_item_children("controls", 1):
        dpg.set_value(header, dpg.get_item_label(header) == title)
    settle(app)


def type_into(app, window, tag, text):
    """A real click into a number box, its text replaced by `text` typed key by key, then Enter."""
    import dearpygui.dearpygui as dpg
    (x, y), (_, h) = dpg.get_item_rect_min(tag), dpg.get_item_rect_size(tag)
    assert dpg.is_item_visible(tag) and y + h < dpg.get_viewport_client_height(), f"{tag} is not on screen"
    click(app, window, int(x + 15), int(y + h / 2))
    send(app, "key", "ctrl+a")
    send(app, "type", "--delay", 20, "--", text, frames=3 * len(text) + 10)
    send(app, "key", "Return")
    settle(app)


def test_typed_values_out_of_range_are_refused_beside_their_field(app):
    import dearpygui.dearpygui as dpg
    window = focus_window(app)
    only_panel_open(app, "Latent")
    assert app.state.session.class_idx == 0 and app.model.c_dim == 5
    type_into(app, window, "latent_class", "999")
    assert dpg.is_item_shown("latent_class_error")
    assert "class 999 is out of range: this model has classes 0 to 4" in dpg.get_value("latent_class_error")
    assert app.state.session.class_idx == 0
    type_into(app, window, "latent_class", "3")
    assert app.state.session.class_idx == 3 and not dpg.is_item_shown("latent_class_error")
    only_panel_open(app, "Metrics (EQ, FID, KID)")
    type_into(app, window, "eq_samples", "-5")
    assert dpg.is_item_shown("eq_samples_error") and "samples -5 is out of range" in dpg.get_value("eq_samples_error")
    fire("eq_run")
    assert app.status[1] and "samples -5" in app.status[0] and not app.jobs.active
    type_into(app, window, "eq_samples", "4")
    assert not dpg.is_item_shown("eq_samples_error")
    only_panel_open(app, "Latent")
