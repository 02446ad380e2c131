"""Issue 21 in the real window (Xvfb in CI): what users do all the time. Keys pressed quickly with
their modifiers, typed absolute folders, errors that stay until dismissed and refusals beside their
field, seeds past 2^31, a loaded W, the live error map beside a layer view, Project image from the
Latent panel, and nothing cut off at 1280x840 and 1600x1000 with every panel open and results shown."""
import subprocess

import numpy as np
import pytest

from app_driver import (DIALOG_OK, NEEDS_DISPLAY, NEEDS_XDOTOOL, click, dialog_point, fire, focus_window, open_dialog,
                        running_app, send, settle, step_for, step_until, type_in_dialog, xdotool)

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY]
# Item types whose drawn text or frame must lie inside the control column.
CHECKED_TYPES = ("mvText", "mvButton", "mvCheckbox", "mvInputText", "mvInputInt", "mvInputFloat", "mvInputDouble",
                 "mvCombo", "mvSliderFloat", "mvDragFloat", "mvRadioButton", "mvImage")


@pytest.fixture(scope="module")
def app(reference_dir, tmp_path_factory):
    import os
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))  # a private recent list
    with running_app(reference_dir / "pkl" / "sg3t_64.pkl", width=1280, height=840) as app:
        yield app


def panel(app, job_name):
    return next(p for p in app.panels if getattr(p, "job_name", "") == job_name)


def run_job(app, job_name):
    job_panel = panel(app, job_name)
    job_panel.run(app)
    step_until(app, lambda: job_panel.job is None, timeout=300)


def quiet(app, seconds=0.5):
    app.stay_awake(seconds)
    step_for(app, seconds)


@NEEDS_XDOTOOL
def test_quick_modifier_keys_are_read_from_their_own_events(app, tmp_path, monkeypatch):
    focus_window(app)
    app.state.set_rotate(0.0)
    settle(app)
    for _ in range(3):  # no sleep between: a quick Shift+Q, three times
        xdotool("key", "shift+q")
    quiet(app, 2.0)
    assert app.state.session.rotate_deg == 30.0
    xdotool("key", "shift+q", "e")  # Shift released before E, in one burst
    quiet(app, 2.0)
    assert app.state.session.rotate_deg == 39.0
    monkeypatch.chdir(tmp_path)
    from eqviz.app import capture
    saves = []
    save = capture.save_current_image
    monkeypatch.setattr(capture, "save_current_image", lambda *a, **k: (saves.append(1), save(*a, **k)))
    for _ in range(4):
        xdotool("key", "ctrl+s")
        quiet(app, 1.0)
    assert len(saves) == 4  # every quick Ctrl+S saved (was: one in four)
    step_until(app, lambda: len(list(tmp_path.glob("eqviz_seed*.png"))) >= 1, timeout=30)
    # one name a second: four quick saves may share one; each one wrote (status says so)
    assert "saved 64x64 image" in app.status[0]
    send(app, "key", "F1")
    import dearpygui.dearpygui as dpg
    assert dpg.is_item_shown("help_window")
    send(app, "key", "F1")
    assert not dpg.is_item_shown("help_window")
    app.state.set_rotate(0.0)
    settle(app)


def keys_while_running(app, *args, seconds=3.0):
    """xdotool sending keys while the window runs its frames, as a macro tool or a remote desktop does."""
    app.stay_awake(3600)
    sender = subprocess.Popen(["xdotool", "key", *map(str, args)])
    try:
        step_until(app, lambda: sender.poll() is not None, timeout=30)
        quiet(app, seconds)
    finally:
        sender.wait(timeout=30)
        app.stay_awake(0)


@NEEDS_XDOTOOL
def test_chords_quicker_than_a_frame_keep_their_modifier(app, tmp_path, monkeypatch):
    focus_window(app)
    app.state.set_rotate(0.0)
    settle(app)
    keys_while_running(app, "--delay", 40, "shift+e", "shift+e", "shift+e")
    assert app.state.session.rotate_deg == -30.0
    keys_while_running(app, "shift+e", "shift+e", "shift+e")  # xdotool's own 12 ms between chords
    assert app.state.session.rotate_deg == -60.0
    monkeypatch.chdir(tmp_path)
    before = app.status
    keys_while_running(app, "ctrl+s", seconds=1.0)
    step_until(app, lambda: any(tmp_path.glob("eqviz_seed*.png")), timeout=30)
    assert app.status != before and "saved 64x64 image" in app.status[0]
    app.state.set_rotate(0.0)
    settle(app)


@NEEDS_XDOTOOL
def test_folder_dialogs_keep_a_typed_absolute_folder(app, tmp_path):
    import dearpygui.dearpygui as dpg
    folder = tmp_path / "dirs"
    folder.mkdir()
    window = focus_window(app)
    for dialog, check in (("stick_outdir_dialog", lambda: dpg.get_value("stick_outdir") == str(folder)),
                          ("browse_folder_dialog", lambda: str(folder) in app.status[0])):
        open_dialog(app, dialog)
        type_in_dialog(app, window, str(folder))
        click(app, window, *dialog_point(DIALOG_OK))
        step_until(app, check, timeout=20)
    assert app.status == (f"{folder} holds no .pkl or .safetensors checkpoints", True)
    fire("status_dismiss")
    assert not app.status[1] and not dpg.is_item_shown("status_error_row")


def test_errors_stay_and_refused_values_are_told_beside_their_field(app):
    import dearpygui.dearpygui as dpg
    run_job(app, "directions")  # SeFa of this model
    assert dpg.get_item_configuration("dir_progress")["overlay"] == "done"  # not "done: 0/0"
    assert dpg.get_value("dir_about") == "sg3t_64.pkl: SeFa"
    for typed in ("abc", "20-30"):
        fire("dir_layers_0", typed)
        for _ in range(3):  # rendered frames come and go; the refusal stays
            app.request_render()
            settle(app)
        assert dpg.is_item_shown("dir_layers_0_error") and "still using ws" in dpg.get_value("dir_layers_0_error")
        assert dpg.get_value("dir_layers_0") == typed  # what was typed stays to be corrected
    fire("dir_layers_0", "2-5")
    assert not dpg.is_item_shown("dir_layers_0_error") and panel(app, "directions").layers[0] == (2, 6)
    app.set_status("a sentence the user must read", error=True)
    app.set_status("news from a job")
    for _ in range(3):
        app.request_render()
        settle(app)
    assert app.status == ("a sentence the user must read", True) and dpg.get_value("status_line") == "news from a job"
    fire("status_dismiss")
    assert app.status == ("news from a job", False)
    panel(app, "directions").reset_all(app)
    settle(app)


def test_seeds_run_to_2_to_the_32_minus_1(app):
    import dearpygui.dearpygui as dpg
    fire("latent_seed", 2147483647)
    fire("latent_seed_plus")
    settle(app)
    assert dpg.get_value("latent_seed") == 2147483648 and app.state.session.seed == 2147483648
    assert "seed 2147483648 " in dpg.get_value("viewer_info")
    fire("latent_seed", 2**32 - 1)
    fire("latent_seed_plus")
    settle(app)
    assert app.state.session.seed == 2**32 - 1 and app.last_result.error is None
    fire("latent_seed", 2)
    settle(app)


def test_a_loaded_w_greys_the_seed_controls_and_names_saved_images(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.app.capture import default_image_path
    from eqviz.app.panels.latent import SEED_CONTROLS, save_w
    save_w(tmp_path / "portrait.npz", app.last_result.ws)
    fire("latent_seed", 5)
    app.state.session.w_path = str(tmp_path / "portrait.npz")
    app.state.touch()
    app.request_render()
    settle(app)
    assert not any(dpg.is_item_enabled(tag) for tag in SEED_CONTROLS) and not dpg.is_item_enabled("latent_snap")
    assert default_image_path(app).name.startswith("eqviz_portrait_")
    fire("latent_clear_w")
    settle(app)
    assert all(dpg.is_item_enabled(tag) for tag in SEED_CONTROLS)
    fire("latent_seed", 2)
    settle(app)


def test_a_layer_view_with_the_live_error_ticked_fills_the_area(app):
    import dearpygui.dearpygui as dpg
    from eqviz.app.viewer import fit_zoom_for
    view = app.state.view
    view.layer, view.live_error = app.model.layer_names[-2], True
    app.state.touch()
    app.request_render()
    settle(app)
    assert app.last_result.error_map is None and not dpg.is_item_shown("error_group")
    area = tuple(dpg.get_item_rect_size("image_area"))
    assert app.viewer.zoom() == fit_zoom_for(area, app.viewer.frame_size, False, view.pixel_exact)
    assert "output, not for a layer" in dpg.get_value("view_live_note")
    assert dpg.get_value("view_zoom") == pytest.approx(app.viewer.zoom(), rel=1e-4)  # the fitted zoom, not 1.00x
    view.layer, view.live_error = "output", False
    app.state.touch()
    app.request_render()
    settle(app)


def test_project_image_from_the_latent_panel_brings_its_progress_into_view(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from PIL import Image
    from eqviz.app.panels.projection import PICK_AND_PROJECT_DIALOG
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(photo)
    projection = panel(app, "projection")
    dpg.set_value(projection.header, False)
    dpg.set_value("proj_outdir", str(tmp_path / "out"))
    dpg.set_value("proj_losses", "pixel")
    dpg.set_value("proj_steps", 10_000)
    assert not dpg.get_value("proj_overwrite")  # outputs are not overwritten unless asked
    dpg.get_item_callback(PICK_AND_PROJECT_DIALOG)(PICK_AND_PROJECT_DIALOG, {"file_path_name": str(photo)}, None)
    quiet(app, 1.0)
    assert projection.job is not None and dpg.get_value(projection.header)
    top = dpg.get_item_rect_min("proj_cancel")[1]  # the progress bar is right under it (and has no rect of its own)
    assert dpg.is_item_visible("proj_cancel") and 0 <= top <= dpg.get_viewport_client_height() - 60
    assert dpg.get_value("proj_about").startswith("running on sg3t_64.pkl: photo.png into W")
    fire("proj_cancel")
    step_until(app, lambda: projection.job is None, timeout=60)
    assert "best W of" in dpg.get_value("proj_result")
    fire("latent_clear_w")
    settle(app)


def clipped_items(right_edge):
    """Visible items of the control column that reach past its right edge (cut off on screen)."""
    import dearpygui.dearpygui as dpg
    found = []
    stack = list(dpg.get_item_children("controls", 1))
    while stack:
        item = stack.pop()
        stack.extend(dpg.get_item_children(item, 1) or [])
        kind = dpg.get_item_type(item).split("::")[-1]
        if kind not in CHECKED_TYPES or not dpg.get_item_state(item).get("visible"):
            continue
        x, _ = dpg.get_item_rect_min(item)
        w, _ = dpg.get_item_rect_size(item)
        if w > 0 and x + w > right_edge:
            label = dpg.get_item_label(item) or dpg.get_value(item) if kind != "mvImage" else "image"
            found.append((kind, str(label)[:40], round(x + w)))
        hint = dpg.get_item_configuration(item).get("hint") if kind == "mvInputText" else ""
        if hint:  # the grey hint of an empty box must fit the box (its label drawn beside it)
            label = dpg.get_item_label(item) or ""
            box = w - (dpg.get_text_size(label)[0] + 4 if label else 0)
            if dpg.get_text_size(hint)[0] + 8 > box:
                found.append(("hint", hint[:40], round(box)))
    return found


@pytest.mark.parametrize("size", [(1280, 840), (1600, 1000)])
def test_nothing_is_cut_off_with_every_panel_open_and_results_shown(app, size, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.app.app import CONTROLS_WIDTH
    dpg.set_viewport_width(size[0])
    dpg.set_viewport_height(size[1])
    for item in dpg.get_item_children("controls", 1):
        if dpg.get_item_type(item).endswith("mvCollapsingHeader"):
            dpg.set_value(item, True)
    dpg.set_value("eq_samples", 2)
    dpg.set_value("eq_batch", 2)
    run_job(app, "equivariance")
    assert dpg.get_value("eq_result")
    panel(app, "equivariance").run(app)  # a new run: the old result is off screen at once
    assert dpg.get_value("eq_result") == ""
    step_until(app, lambda: panel(app, "equivariance").job is None, timeout=300)
    if panel(app, "directions").directions is None:
        run_job(app, "directions")
    app.set_status("an error long enough to need more than one line of the image side of the window, "
                   "which it must wrap rather than cut off at the edge", error=True)
    quiet(app)
    # ImGui clips the column at its width less the scrollbar (14 px) and half the window padding (4 px).
    right_edge = CONTROLS_WIDTH - 14 - 4
    total, y, cut = dpg.get_y_scroll_max("controls"), 0.0, []
    while True:
        dpg.set_y_scroll("controls", y)
        quiet(app, 0.3)
        cut += clipped_items(right_edge)
        if y >= total:
            break
        y = min(total, y + size[1] - 80)
    assert not cut, cut
    x, _ = dpg.get_item_rect_min("status_error")
    w, _ = dpg.get_item_rect_size("status_error")
    assert x + w <= size[0]
    fire("status_dismiss")
    dpg.set_y_scroll("controls", 0)
    quiet(app)
