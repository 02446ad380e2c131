"""The app's memory guard is the loader's; when it refuses a checkpoint the app offers to raise it."""
import pytest

from app_driver import NEEDS_DISPLAY, fire, running_app, settle, step_until

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY]


@pytest.fixture(scope="module")
def app(reference_dir, tmp_path_factory):
    """One window for the module (see running_app)."""
    import os
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))  # a private recent list
    with running_app(reference_dir / "pkl" / "sg3t_64.pkl") as app:
        yield app


def test_a_refused_checkpoint_opens_after_the_user_raises_the_limit(app, reference_dir):
    import dearpygui.dearpygui as dpg

    from eqviz.app.memory_offer import TAG

    sg2 = reference_dir / "pkl" / "sg2_64.pkl"
    settle(app)
    before = app.model.kind
    assert before != "stylegan2"
    app.max_memory = sg2.stat().st_size + 1  # the file fits, the generator and a frame do not
    app.open_checkpoint(str(sg2))
    step_until(app, lambda: dpg.does_item_exist(TAG))
    assert app.model.kind == before and "raise the memory limit" in app.status[0]  # the old model stays
    fire(f"{TAG}_raise")
    step_until(app, lambda: app.model.kind == "stylegan2")
    assert app.max_memory > sg2.stat().st_size + 1 and not dpg.does_item_exist(TAG)


def test_keeping_the_limit_keeps_the_model(app, reference_dir):
    import dearpygui.dearpygui as dpg

    from eqviz.app.memory_offer import TAG

    settle(app)
    before = app.model.kind
    assert before != "stylegan3-r"
    app.max_memory = 10**6
    app.open_checkpoint(str(reference_dir / "pkl" / "sg3r_64.pkl"))
    step_until(app, lambda: dpg.does_item_exist(TAG))
    fire(f"{TAG}_keep")
    assert not dpg.does_item_exist(TAG) and app.model.kind == before and app.max_memory == 10**6
