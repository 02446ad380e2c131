"""The app's memory guard is the loader's; when it refuses a checkpoint the app offers to raise it."""
import pytest

from app_driver import NEEDS_DISPLAY, fire, running_app, step_until

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY]


def test_a_refused_checkpoint_opens_after_the_user_raises_the_limit(reference_dir):
    import dearpygui.dearpygui as dpg

    from eqviz.app.memory_offer import TAG

    sg2 = reference_dir / "pkl" / "sg2_64.pkl"
    with running_app(reference_dir / "pkl" / "sg3t_64.pkl") as app:
        app.max_memory = sg2.stat().st_size + 1  # the file fits, the generator and a frame do not
        app.open_checkpoint(str(sg2))
        step_until(app, lambda: dpg.does_item_exist(TAG))
        assert app.model.kind == "stylegan3-t" and "raise the memory limit" in app.status[0]  # the old model stays
        fire(f"{TAG}_raise")
        step_until(app, lambda: app.model.kind == "stylegan2")
        assert app.max_memory > sg2.stat().st_size + 1 and not dpg.does_item_exist(TAG)


def test_keeping_the_limit_keeps_the_model(reference_dir):
    import dearpygui.dearpygui as dpg

    from eqviz.app.memory_offer import TAG

    with running_app(reference_dir / "pkl" / "sg3t_64.pkl") as app:
        app.max_memory = 10**6
        app.open_checkpoint(str(reference_dir / "pkl" / "sg3r_64.pkl"))
        step_until(app, lambda: dpg.does_item_exist(TAG))
        fire(f"{TAG}_keep")
        assert not dpg.does_item_exist(TAG) and app.model.kind == "stylegan3-t" and app.max_memory == 10**6
