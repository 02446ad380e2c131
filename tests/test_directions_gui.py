"""The Directions panel in the real app window (Xvfb in CI): compute, slide, reset, save, restore."""
import numpy as np
import pytest
from PIL import Image

from app_driver import NEEDS_DISPLAY, fire, panel_of, running_app, screenshot, settle, shown_region, step_until

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY]


def shown_image(app, path):
    return shown_region(screenshot(app, path))


@pytest.fixture(scope="module")
def app(reference_dir, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EQVIZ_CACHE", str(tmp_path_factory.mktemp("cache")))  # a private direction cache
        with running_app(reference_dir / "pkl" / "sg3t_64.pkl") as app:
            yield app



def picture(app):
    return np.array(app.last_result.picture)


def test_sliders_move_the_image_and_the_session_json_restores_the_edit(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.core.images import to_uint8
    from eqviz.core.rendering import render_session
    from eqviz.core.session import Session

    directions = panel_of(app, "DirectionsPanel")
    before, before_shown = picture(app), shown_image(app, tmp_path / "before.png")
    dpg.get_item_callback("dir_run")("dir_run", None, None)
    step_until(app, lambda: directions.directions is not None and directions.job is None)
    assert directions.directions.method == "sefa" and dpg.does_item_exist("dir_alpha_19")

    fire("dir_alpha_0", 3.0)
    settle(app)
    edited = picture(app)
    assert [e.label for e in app.state.session.edits] == ["sefa 0"] and dpg.get_value("dir_value_0") == 3.0
    expected = to_uint8(render_session(app.generator(), Session(latent_x=2.0, edits=app.state.session.edits)))
    assert np.array_equal(edited, expected) and not np.array_equal(edited, before)
    shown = shown_image(app, tmp_path / "edited.png")
    assert shown.shape == before_shown.shape and np.abs(shown.astype(int) - before_shown.astype(int)).max() > 5

    directions.save_edits(app, str(tmp_path / "edits.json"))
    fire("dir_reset_0", None)
    settle(app)
    assert app.state.session.edits == [] and np.array_equal(picture(app), before)

    app.state.adopt_session(Session.load(tmp_path / "edits.json"))
    app.request_render()
    settle(app)
    assert np.array_equal(picture(app), edited)
    assert "1 from the loaded session" in dpg.get_value("dir_info")
    fire("dir_reset_all")  # also clears edits that came with a session
    settle(app)
    assert app.state.session.edits == [] and np.array_equal(picture(app), before)


def test_a_ws_range_limits_the_edit_and_a_second_compute_comes_from_the_cache(app, tmp_path):
    import dearpygui.dearpygui as dpg

    directions = panel_of(app, "DirectionsPanel")
    dpg.get_item_callback("dir_run")("dir_run", None, None)
    step_until(app, lambda: directions.job is None and directions.directions is not None)
    assert "from the cache" in dpg.get_value("status_line")
    fire("dir_layers_2", "4-6")
    fire("dir_value_2", -2.0)
    settle(app)
    (edit,) = app.state.session.edits
    assert edit.layers == (4, 7) and edit.alpha == -2.0 and dpg.get_value("dir_alpha_2") == -2.0
    fire("dir_layers_2", "9-99")
    assert app.state.session.edits[0].layers == (4, 7)  # refused, kept
    dpg.get_item_callback("dir_reset_all")("dir_reset_all", None, None)
    assert app.state.session.edits == []


def test_export_sheet_writes_the_png_in_the_background(app, tmp_path):
    directions = panel_of(app, "DirectionsPanel")
    if directions.directions is None:
        import dearpygui.dearpygui as dpg
        dpg.get_item_callback("dir_run")("dir_run", None, None)
        step_until(app, lambda: directions.job is None and directions.directions is not None)
    out = tmp_path / "sheet.png"
    directions.export_sheet(app, str(out))
    step_until(app, lambda: directions.job is None)
    sheet = np.asarray(Image.open(out)).astype(np.int16)
    # Each tile is the picture the app renders with that one edit added (rows: the active directions, or
    # the first five; columns: alpha -3 .. 3), tiles right- and bottom-aligned with a 2-pixel gap.
    import dataclasses

    import torch

    from eqviz.core.images import to_uint8
    from eqviz.core.rendering import render_session
    from eqviz.directions.edits import edit_from

    active = [k for k, a in enumerate(directions.alphas) if a != 0] or list(range(5))
    session = dataclasses.replace(app.state.session, latent_x=float(app.state.session.seed), latent_y=0.0,
                                  edits=[e for e in app.state.session.edits if e not in directions.own])
    height, width = sheet.shape[:2]
    alphas = np.linspace(-3.0, 3.0, 5)
    for r, k in enumerate(active):
        for c, alpha in enumerate(alphas):
            edit = edit_from(directions.directions, k, alpha, directions.layers[k])
            with torch.no_grad():
                want = to_uint8(render_session(app.generator(), dataclasses.replace(session, edits=[*session.edits, edit])))
            y, x = height - (len(active) - r) * 66, width - (5 - c) * 66
            assert np.abs(sheet[y : y + 64, x : x + 64] - want).max() <= 2, (r, c)
    import dearpygui.dearpygui as dpg
    texture = dpg.get_item_configuration("dir_sheet_image")["texture_tag"]
    assert (dpg.get_item_width(texture), dpg.get_item_height(texture)) == (sheet.shape[1], sheet.shape[0])


def test_ganspace_runs_in_the_background_and_cancels(app):
    import dearpygui.dearpygui as dpg

    directions = panel_of(app, "DirectionsPanel")
    shown_before = directions.directions
    dpg.set_value("dir_method", "GANSpace")
    dpg.set_value("dir_samples", 5_000_000)
    dpg.get_item_callback("dir_run")("dir_run", None, None)
    step_until(app, lambda: directions.job is not None and directions.job.done > 0)
    directions.cancel()
    step_until(app, lambda: directions.job is None)
    assert dpg.get_item_configuration("dir_progress")["overlay"].startswith("cancelled at")
    assert directions.directions is shown_before  # a cancelled computation changes nothing
    dpg.set_value("dir_samples", 3000)
    dpg.get_item_callback("dir_run")("dir_run", None, None)
    step_until(app, lambda: directions.job is None and directions.directions is not shown_before)
    assert directions.directions.method == "ganspace" and len(directions.directions) == 20
    dpg.set_value("dir_method", "SeFa")


def test_import_an_interfacegan_vector_file(app, tmp_path):
    directions = panel_of(app, "DirectionsPanel")
    np.save(tmp_path / "boundary.npy", np.random.RandomState(1).randn(1, 64).astype(np.float32))
    directions.import_file(app, str(tmp_path / "boundary.npy"))
    step_until(app, lambda: directions.job is None and getattr(directions.directions, "method", None) == "imported")
    assert len(directions.directions) == 1 and directions.directions.layers == (1, 16)
    fire("dir_value_0", 2.0)
    assert [e.label for e in app.state.session.edits] == ["imported 0"]
    fire("dir_reset_all")


def test_another_checkpoint_clears_the_list_and_its_edits(app, reference_dir):
    import dearpygui.dearpygui as dpg

    directions = panel_of(app, "DirectionsPanel")
    fire("dir_run")
    step_until(app, lambda: directions.job is None and getattr(directions.directions, "method", None) == "sefa")
    fire("dir_alpha_1", 1.5)
    assert len(app.state.session.edits) == 1
    app.open_checkpoint(str(reference_dir / "pkl" / "sg2_64.pkl"))
    step_until(app, lambda: app.model is not None and app.model.kind == "stylegan2")
    settle(app)
    assert directions.directions is None and not dpg.does_item_exist("dir_alpha_1")
    assert app.state.session.edits == [] and not dpg.does_item_exist("dir_sheet_image")
