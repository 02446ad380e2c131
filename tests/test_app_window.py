"""Issue 12 in the real window (Xvfb in CI): seed steps, model switches, file dialogs with real typed
input, the screenshot taken from its dialog, the view that fits and refits, nothing cut off."""
import numpy as np
import pytest
from PIL import Image

from app_driver import (DIALOG_CANCEL, DIALOG_OK, NEEDS_DISPLAY, NEEDS_XDOTOOL, click, dialog_point, fire, focus_window, open_dialog, running_app,
                        item_region, screenshot, settle, shown_region, step_for, step_until, type_in_dialog, send)

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY]


@pytest.fixture(scope="module")
def app(reference_dir, tmp_path_factory):
    import os
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))  # a private recent list
    with running_app(reference_dir / "pkl" / "sg3t_64.pkl", width=1280, height=840) as app:
        yield app


@NEEDS_XDOTOOL
def test_the_window_opens_in_the_top_left_corner_so_a_screen_its_size_shows_all_of_it(app):
    import subprocess
    geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", focus_window(app)], capture_output=True,
                              text=True, timeout=20).stdout
    place = dict(line.split("=") for line in geometry.split())
    assert (place["X"], place["Y"]) == ("0", "0"), geometry
    assert (place["WIDTH"], place["HEIGHT"]) == ("1280", "840"), geometry


# -- defect 2 ---------------------------------------------------------------------------------------
def test_the_seed_box_follows_the_position_and_plus_steps_from_it(app):
    import dearpygui.dearpygui as dpg
    fire("latent_seed", 205)
    settle(app)
    assert app.state.session.seed == 205
    app.state.session.latent_x = 6.98   # where an animation or a drag has taken it
    app.state.touch()
    app.request_render()
    settle(app)
    assert dpg.get_value("latent_seed") == 206
    assert dpg.is_item_enabled("latent_snap")
    fire("latent_seed_plus")
    settle(app)
    assert (app.state.session.latent_x, app.state.session.latent_y) == (7.0, 2.0)
    assert dpg.get_value("latent_seed") == 207 and not dpg.is_item_enabled("latent_snap")
    assert "seed 207" in dpg.get_value("viewer_info")
    fire("latent_seed", 2)
    settle(app)


# -- defect 8 ---------------------------------------------------------------------------------------
@NEEDS_XDOTOOL
def test_keys_typed_into_a_file_dialog_are_not_shortcuts(app):
    import dearpygui.dearpygui as dpg
    app.state.set_translate(0.1, 0.0)
    app.request_render()
    settle(app)
    window = focus_window(app)
    open_dialog(app, "open_checkpoint_dialog")
    type_in_dialog(app, window, "qqqee rr")
    assert app.state.session.rotate_deg == 0.0 and app.state.session.translate == (0.1, 0.0)
    click(app, window, *dialog_point(DIALOG_CANCEL))
    step_until(app, lambda: not dpg.is_item_shown("open_checkpoint_dialog"), timeout=10)
    assert app.loading is None and app.state.session.rotate_deg == 0.0
    send(app, "key", "q")  # with the dialog closed the same key is a shortcut again
    assert app.state.session.rotate_deg == 1.0
    send(app, "key", "r")
    assert app.state.session.rotate_deg == 0.0 and app.state.session.translate == (0.0, 0.0)
    settle(app)


# -- defects 6 and 9 --------------------------------------------------------------------------------
def test_dialogs_open_in_the_checkpoint_folder(app, reference_dir):
    import dearpygui.dearpygui as dpg
    assert dpg.get_item_configuration("load_w_dialog")["default_path"] == str(reference_dir / "pkl")


@NEEDS_XDOTOOL
def test_a_screenshot_saved_from_its_dialog_shows_the_window_not_the_dialog(app, tmp_path):
    import dearpygui.dearpygui as dpg
    settle(app)
    clean = screenshot(app, tmp_path / "clean.png")
    window = focus_window(app)
    target = tmp_path / "typed" / "window.png"   # typed as an absolute path into the name box
    target.parent.mkdir()
    open_dialog(app, "save_screenshot_dialog")
    type_in_dialog(app, window, str(target))
    click(app, window, *dialog_point(DIALOG_OK))
    step_until(app, target.is_file, timeout=10)
    shot = np.asarray(Image.open(target).convert("RGB"))
    # The dialog (and the modal dimming) would cover the middle of the window.
    h, w = shot.shape[:2]
    middle = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
    assert np.abs(shot[middle].astype(int) - clean[middle].astype(int)).mean() < 1.0
    # The typed absolute path stayed absolute, and the next dialog opens in its folder.
    assert dpg.get_item_configuration("load_w_dialog")["default_path"] == str(target.parent)


@NEEDS_XDOTOOL
def test_a_w_file_typed_as_an_absolute_path_loads_from_there(app, tmp_path):
    from eqviz.core.latents import save_w
    ws = app.last_result.ws
    path = tmp_path / "elsewhere" / "w.npz"
    path.parent.mkdir()
    save_w(str(path), ws)
    window = focus_window(app)
    import dearpygui.dearpygui as dpg
    open_dialog(app, "load_w_dialog")
    type_in_dialog(app, window, str(path))
    click(app, window, *dialog_point(DIALOG_OK))
    step_until(app, lambda: app.state.session.w_path is not None, timeout=10)
    assert app.state.session.w_path == str(path)
    fire("latent_clear_w")
    settle(app)


# -- the view ---------------------------------------------------------------------------------------
def _area():
    import dearpygui.dearpygui as dpg
    return dpg.get_item_rect_size("image_area")


def _image_size():
    import dearpygui.dearpygui as dpg
    return dpg.get_item_rect_size("main_image")


def test_the_image_fits_the_window_and_refits_with_the_error_map_and_on_resize(app):
    import dearpygui.dearpygui as dpg
    settle(app)
    (aw, ah), (w, h) = _area(), _image_size()
    assert w == h and (aw - 24 <= w <= aw or ah - 24 <= h <= ah)  # fills the limiting side
    fire("view_live_error", True)
    settle(app)
    step_for(app, 0.2)
    ew, _ = dpg.get_item_rect_size("error_image")
    w2, _ = _image_size()
    assert ew == w2 and 2 * w2 <= aw and w2 < w
    assert "exact" in dpg.get_value("error_psnr")   # the identity transform maps back exactly
    fire("transform_rot", 10.0)
    settle(app)
    assert " dB" in dpg.get_value("error_psnr")
    fire("transform_rot", 0.0)
    fire("view_live_error", False)
    settle(app)
    dpg.set_viewport_width(1600)
    dpg.set_viewport_height(1000)
    step_for(app, 0.5)
    w3, _ = _image_size()
    assert w3 > w
    dpg.set_viewport_width(1280)
    dpg.set_viewport_height(840)
    step_for(app, 0.5)
    assert _image_size()[0] == w
    fire("view_fit", False)  # a fixed zoom stays fixed
    fire("view_zoom", 2.0)
    step_for(app, 0.3)
    assert _image_size()[0] == 128 and "zoom 200%" in dpg.get_value("viewer_info")
    fire("view_fit", True)
    step_for(app, 0.3)
    assert _image_size()[0] == w


def test_the_controls_fit_at_1280x840_with_latent_and_transform_open(app):
    import dearpygui.dearpygui as dpg
    assert dpg.get_viewport_client_height() <= 840
    step_for(app, 0.2)
    assert dpg.get_y_scroll_max("controls") == 0


def test_disabled_controls_look_disabled(app, tmp_path):
    """StyleGAN3 has no noise inputs: the noise box is drawn grey, the seed box is not."""
    import dearpygui.dearpygui as dpg
    assert not dpg.is_item_enabled("latent_noise")
    shot = screenshot(app, tmp_path / "shot.png")
    noise, seed = item_region(shot, "latent_noise"), item_region(shot, "latent_seed")
    assert seed.max() > 220 and noise.max() < 160


# -- defect 4 ---------------------------------------------------------------------------------------
def test_a_stylegan2_after_a_transformed_stylegan3_starts_untransformed(app, reference_dir, tmp_path):
    """Runs after the others but one: it swaps the model."""
    import dearpygui.dearpygui as dpg
    from eqviz.app.frame_renderer import FrameRenderer, build_request
    import eqviz.networks
    fire("transform_rot", 30.0)
    fire("transform_tx", 0.2)
    fire("transform_untransform", True)
    settle(app)
    fire("checkpoint_path", str(reference_dir / "pkl" / "sg2_64.pkl"))
    step_until(app, lambda: app.loading is None and app.model.kind == "stylegan2")
    assert app.last_result is None  # the old model's frame is gone at once
    settle(app)
    s = app.state.session
    assert s.translate == (0.0, 0.0) and s.rotate_deg == 0.0 and not s.untransform
    assert not app.status[1], app.status
    G = eqviz.networks.load_generator(reference_dir / "pkl" / "sg2_64.pkl")
    expected = FrameRenderer(G, "cpu").render(build_request(app.state, 1)).picture
    np.testing.assert_array_equal(app.last_result.picture, expected)
    shot = screenshot(app, tmp_path / "sg2.png")
    region = shown_region(shot)
    assert region.shape[0] > 64  # fitted, and on screen
    assert dpg.get_value("checkpoint_path") == str((reference_dir / "pkl" / "sg2_64.pkl").resolve())  # the box names the file itself
    assert dpg.is_item_enabled("latent_noise")


def test_a_style_mix_range_cut_by_a_smaller_model_is_given_back_by_a_larger_one(app, reference_dir):
    """Runs after the StyleGAN2 (10 ws) has replaced the StyleGAN3 (16 ws)."""
    def open_model(name, num_ws):
        fire("checkpoint_path", str(reference_dir / "pkl" / f"{name}.pkl"))
        step_until(app, lambda: app.loading is None and app.model.num_ws == num_ws)
        settle(app)

    assert app.model.num_ws == 10 and app.state.session.mix_range == (8, 10)  # the default [8, 16) cut to fit
    open_model("sg3t_64", 16)
    assert app.state.session.mix_range == (8, 16)  # not the 10-ws model's [8, 10) carried over
    fire("latent_mix_range", [2, 5, 0, 0])              # a range the user picks fits both models: it stays
    open_model("sg2_64", 10)
    assert app.state.session.mix_range == (2, 5)
