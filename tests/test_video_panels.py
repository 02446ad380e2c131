"""The app's video-export and texture-sticking panels: settings -> spec, and the job they run.

The panels are built in a Dear PyGui context without a window; jobs run synchronously through a
stand-in for the app's PanelContext.
"""
import copy
from pathlib import Path

import dearpygui.dearpygui as dpg
import imageio.v2 as imageio
import pytest

from eqviz.errors import EqvizError
from eqviz.app.panel import JobHandle
from eqviz.app.panels.sticking import StickingPanel
from eqviz.app.panels.video_export import VideoExportPanel, VideoExportSettings, build_video_spec
from eqviz.app.state import AppState
from eqviz.core.session import Session


class FakeModel:
    def __init__(self, path, G):
        self.path = str(path)
        self.supports_input_transform = bool(G.supports_input_transform)


class FakeContext:
    """What the panels use of the app: state, model, a private generator copy, synchronous jobs."""

    def __init__(self, path, G):
        self.state = AppState()
        self.model = FakeModel(path, G)
        self._G = G
        self.status = ("", False)

    def clone_generator(self):
        return copy.deepcopy(self._G)

    def set_status(self, text, error=False):
        self.status = (text, error)

    def request_render(self):
        pass

    def start_job(self, name, body, on_done):
        """Runs the body at once; like the app, hands the result over later (`deliver`)."""
        handle = JobHandle(name=name)
        try:
            result, error = body(lambda f, t="": None, lambda: handle.cancel_requested), None
        except EqvizError as exc:
            result, error = None, str(exc)
        self._finished = lambda: on_done(result, error)
        return handle

    def deliver(self):
        self._finished()


@pytest.fixture(scope="module")
def sg2(reference_dir):
    import eqviz.networks

    path = reference_dir / "pkl" / "sg2_64.pkl"
    return path, eqviz.networks.load_generator(str(path))


@pytest.fixture
def dpg_context():
    dpg.create_context()
    dpg.add_texture_registry(tag="textures")
    try:
        with dpg.window(tag="controls"):
            yield
    finally:
        dpg.destroy_context()


def test_settings_become_a_spec_that_starts_from_the_current_view():
    session = Session(latent_x=4, psi=0.6, rotate_deg=15)
    spec = build_video_spec(VideoExportSettings(walk=True, rotate=True, walk_seeds="7-8", compare=("b.pkl",)), session)
    assert spec.motion.kinds == ("walk", "rotate")
    assert spec.seeds == [7, 8] and spec.session is session and spec.psi == 0.6
    assert spec.checkpoints == ["current", "b.pkl"]
    with pytest.raises(EqvizError, match="walk seeds"):
        build_video_spec(VideoExportSettings(walk=True, rotate=False), session)
    with pytest.raises(EqvizError, match="choose a motion"):
        build_video_spec(VideoExportSettings(rotate=False), session)


def test_export_button_writes_the_video(dpg_context, sg2, tmp_path):
    path, G = sg2
    ctx = FakeContext(path, G)
    panel = VideoExportPanel()
    panel.build(ctx)
    panel.on_model_changed(ctx)  # StyleGAN2: switches the motion to a walk
    assert dpg.get_value("vid_walk") and not dpg.get_value("vid_rotate")
    out = tmp_path / "panel.mp4"
    for tag, value in (("vid_walk_seeds", "3"), ("vid_frames", 4), ("vid_out", str(out))):
        dpg.set_value(tag, value)
    dpg.get_item_callback("vid_export")()
    assert ctx.status[0].startswith("rendering video") and not dpg.get_item_configuration("vid_export")["enabled"]
    ctx.deliver()
    assert dpg.get_item_configuration("vid_export")["enabled"]
    assert ctx.status == (f"wrote {out} (4 frames, 64x64)", False)
    with imageio.get_reader(out) as reader:
        assert len([f for f in reader]) == 4


def test_export_reports_a_settings_mistake_in_the_status_line(dpg_context, sg2):
    ctx = FakeContext(*sg2)
    panel = VideoExportPanel()
    panel.build(ctx)
    dpg.set_value("vid_rotate", False)
    dpg.get_item_callback("vid_export")()
    assert ctx.status[1] and "choose a motion" in ctx.status[0]


def test_sticking_panel_writes_and_shows_the_views(dpg_context, sg2, tmp_path):
    ctx = FakeContext(*sg2)
    ctx.state.session.latent_x = 9
    panel = StickingPanel()
    panel.build(ctx)
    for tag, value in (("stick_samples", 2), ("stick_frames", 3), ("stick_outdir", str(tmp_path))):
        dpg.set_value(tag, value)
    dpg.get_item_callback("stick_run")()
    ctx.deliver()
    assert not ctx.status[1], ctx.status
    assert (tmp_path / "seed0009_long_exposure.png").is_file()
    assert "column stacks: walk" in dpg.get_value("stick_result")
    assert len(dpg.get_item_children("stick_images", 1)) == 2  # long exposure and column stack
    assert Path(ctx.status[0].split(" to ")[-1]) == tmp_path
