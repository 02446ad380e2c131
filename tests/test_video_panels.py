"""The app's job panels (video export, texture sticking, equivariance): settings -> spec, the job
they run, how its progress bar ends, and the device every spec carries.

The panels are built in a Dear PyGui context without a window; jobs run synchronously through a
stand-in for the app's PanelContext.
"""
from pathlib import Path

import dearpygui.dearpygui as dpg
import imageio.v2 as imageio
import pytest
import torch

from eqviz.errors import EqvizError
from eqviz.app.jobs import run_body
from eqviz.app.panel import JobHandle
from eqviz.app.panels.equivariance import EquivariancePanel
from eqviz.app.panels.sticking import StickingPanel
from eqviz.app.panels.video_export import VideoExportPanel, VideoExportSettings, build_video_spec
from eqviz.app.state import AppState
from eqviz.core.session import Session
from eqviz.video.render import latent_settings


class FakeModel:
    def __init__(self, path, G, device):
        self.path, self.label = str(path), Path(path).name
        self.supports_input_transform = bool(G.supports_input_transform)
        self.img_channels = G.img_channels
        self.device = device


class FakeContext:
    """What the panels use of the app: state, model, the shared generator, synchronous jobs.
    `cancel_after` cancels a job once it reports that many units done."""

    def __init__(self, path, G, device="cpu"):
        self.state = AppState()
        self.model = FakeModel(path, G, device)
        self.G = G
        self.status = ("", False)
        self.cancel_after = None

    def generator(self):
        return self.G

    def set_status(self, text, error=False):
        self.status = (text, error)

    def request_render(self):
        pass

    def start_job(self, name, body, on_done):
        """Runs the body at once; like the app, hands the outcome over later (`deliver`)."""
        handle = JobHandle(name=name)
        if self.cancel_after is not None:
            report = handle.report

            def report_then_cancel(done, total, text=""):
                report(done, total, text)
                if done >= self.cancel_after:
                    handle.cancel()

            handle.report = report_then_cancel
        outcome = run_body(name, body, handle)
        self._finished = lambda: on_done(outcome)
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
    current = ("a", torch.nn.Linear(1, 1))
    spec = build_video_spec(VideoExportSettings(walk=True, rotate=True, walk_seeds="7-8", compare=("b.pkl",)), session,
                            "cpu", current)
    assert spec.motion.kinds == ("walk", "rotate")
    assert spec.seeds == [7, 8] and spec.session is session and latent_settings(spec)["psi"] == 0.6
    assert spec.checkpoints == [current, "b.pkl"]
    with pytest.raises(EqvizError, match="walk seeds"):
        build_video_spec(VideoExportSettings(walk=True, rotate=False), session, "cpu", current)
    with pytest.raises(EqvizError, match="choose a motion"):
        build_video_spec(VideoExportSettings(rotate=False), session, "cpu", current)


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
    with imageio.get_reader(out) as reader:
        assert len([f for f in reader]) == 4
        fps = reader.get_meta_data()["fps"]
    # The file's own frame rate and length, then the render speed, never one mistaken for the other.
    text, error = ctx.status
    assert not error and text.startswith(f"wrote {out}: 64x64, 4 frames at {fps:g} fps = {4 / fps:.2f} s (rendered at ")
    assert dpg.get_item_configuration("vid_progress")["overlay"].startswith("done: 4 frames, rendered at ")


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


@pytest.fixture(scope="module")
def sg3t(reference_dir):
    import eqviz.networks

    path = reference_dir / "pkl" / "sg3t_64.pkl"
    return path, eqviz.networks.load_generator(str(path))


def overlay(tag):
    return dpg.get_item_configuration(tag)["overlay"]


def run_panel(ctx, panel, values, run_tag):
    """Builds the panel for the model, sets its fields, presses Run and hands the job's outcome over."""
    panel.build(ctx)
    panel.on_model_changed(ctx)  # StyleGAN2 video: a walk
    for tag, value in values:
        dpg.set_value(tag, value)
    dpg.get_item_callback(run_tag)()
    ctx.deliver()


def start_video(ctx, out, frames):
    run_panel(ctx, VideoExportPanel(), [("vid_walk_seeds", "3"), ("vid_frames", frames), ("vid_out", str(out))], "vid_export")


def start_sticking(ctx, outdir):
    run_panel(ctx, StickingPanel(), [("stick_samples", 2), ("stick_frames", 3), ("stick_outdir", str(outdir))], "stick_run")


def start_equivariance(ctx, samples):
    values = [("eq_use_eqt_int", True), ("eq_use_eqt_frac", False), ("eq_use_eqr", False), ("eq_samples", samples),
              ("eq_batch", 2)]
    run_panel(ctx, EquivariancePanel(), values, "eq_run")


# ---- Progress bars end at their final count, or say where a cancel stopped them (issue 12, 5) -----
def test_video_progress_ends_at_its_final_count(dpg_context, sg2, tmp_path):
    ctx = FakeContext(*sg2)
    start_video(ctx, tmp_path / "v.mp4", frames=4)
    assert dpg.get_value("vid_progress") == 1.0 and overlay("vid_progress").startswith("done: 4 frames")


def test_cancelled_video_says_where_it_stopped_and_is_not_an_error(dpg_context, sg2, tmp_path):
    ctx = FakeContext(*sg2)
    ctx.cancel_after = 2  # the video's batch is the library's 8 frames: it stops after the first batch
    start_video(ctx, tmp_path / "v.mp4", frames=20)
    assert overlay("vid_progress") == "cancelled at 8 of 20"
    assert ctx.status == ("video export cancelled at 8 of 20", False)
    assert not (tmp_path / "v.mp4").exists()


def test_sticking_progress_ends_at_its_final_count(dpg_context, sg2, tmp_path):
    ctx = FakeContext(*sg2)
    start_sticking(ctx, tmp_path)
    # one seed, one checkpoint: 2 averaged images + the single image + 3 column-stack frames
    assert dpg.get_value("stick_progress") == 1.0 and overlay("stick_progress") == "done: 6/6"


def test_cancelled_sticking_says_where_it_stopped(dpg_context, sg2, tmp_path):
    ctx = FakeContext(*sg2)
    ctx.cancel_after = 2
    start_sticking(ctx, tmp_path)
    assert overlay("stick_progress") == "cancelled at 2 of 6" and not ctx.status[1]
    assert dpg.get_value("stick_result") == ""


def test_equivariance_progress_ends_at_its_final_count(dpg_context, sg3t):
    ctx = FakeContext(*sg3t)
    start_equivariance(ctx, samples=4)
    assert dpg.get_value("eq_progress") == 1.0 and overlay("eq_progress") == "done: 4/4"
    assert "\n4 samples in" in dpg.get_value("eq_result")


def test_cancelled_equivariance_shows_its_partial_result_not_an_error(dpg_context, sg3t):
    ctx = FakeContext(*sg3t)
    ctx.cancel_after = 2
    start_equivariance(ctx, samples=6)
    assert overlay("eq_progress") == "cancelled at 2 of 6"
    assert ctx.status == ("equivariance cancelled at 2 of 6", False)
    assert "2 samples in" in dpg.get_value("eq_result") and "cancelled: partial" in dpg.get_value("eq_result")


# ---- Every job spec carries the app's device (issue 15, 4) -----------------------------------------
DEVICE = "cuda:7"  # a device none of the code could have written by hand


@pytest.mark.parametrize("panel_class, module, function, out_tag, run_tag", [
    (VideoExportPanel, "eqviz.app.panels.video_export", "render_video", "vid_out", "vid_export"),
    (StickingPanel, "eqviz.app.panels.sticking", "render_sticking", "stick_outdir", "stick_run"),
])
def test_media_jobs_render_and_load_comparisons_on_the_apps_device(dpg_context, sg2, tmp_path, monkeypatch,
                                                                   panel_class, module, function, out_tag, run_tag):
    import importlib

    seen = {}
    monkeypatch.setattr(importlib.import_module(module), function, lambda spec, **kw: seen.setdefault("spec", spec) and None)
    ctx = FakeContext(*sg2, device=DEVICE)
    panel = panel_class()
    panel.build(ctx)
    other = tmp_path / "other.pkl"
    other.write_bytes(b"")  # the list takes existing files only; loading it is the stand-in's job
    panel.compare.add(str(other))
    dpg.set_value(out_tag, str(tmp_path / "out.mp4"))
    dpg.get_item_callback(run_tag)()
    ctx.deliver()
    assert seen["spec"].device == DEVICE  # where the library loads the comparison checkpoints, in the job
    [(name, G), compared] = seen["spec"].checkpoints
    assert G is sg2[1] and compared == str(other)


def test_equivariance_measures_on_the_apps_device(dpg_context, sg3t, monkeypatch):
    import eqviz.metrics.equivariance.run as run

    seen = {}
    monkeypatch.setattr(run, "compute_equivariance", lambda G, **kw: seen.setdefault("kw", kw) and None)
    ctx = FakeContext(*sg3t, device=DEVICE)
    start_equivariance(ctx, samples=2)
    assert seen["kw"]["device"] == DEVICE
