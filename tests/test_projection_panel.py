"""The app's projection panel without a window: its job projects, writes the files, hands previews over,
and makes the projected W the current latent; a cancelled job keeps the best W so far."""
from pathlib import Path

import dearpygui.dearpygui as dpg
import numpy as np
import pytest
import torch
from PIL import Image

from eqviz.app.jobs import run_body
from eqviz.app.panel import JobHandle
from eqviz.app.panels.projection import PICK_AND_PROJECT_DIALOG, ProjectionPanel, ProjectionPanelSettings, run_projection, use_projected_w
from eqviz.app.state import AppState
from eqviz.core.latents import session_ws


class Model:
    def __init__(self, path, G):
        self.path, self.device, self.num_ws, self.label = str(path), "cpu", G.num_ws, Path(path).name


class Context:
    """The parts of the app the panel uses; jobs run at once on this thread."""

    def __init__(self, path, G):
        self.state, self.model, self.G = AppState(), Model(path, G), G
        self.status, self.renders, self.outcomes = ("", False), 0, []

    def generator(self):
        return self.G

    def set_status(self, text, error=False):
        self.status = (text, error)

    def request_render(self):
        self.renders += 1

    def start_job(self, name, body, on_done):
        handle = JobHandle(name=name)
        self.outcomes.append((on_done, run_body(name, body, handle)))
        return handle


@pytest.fixture(scope="module")
def setup(reference_dir, tmp_path_factory):
    from eqviz.networks import load_generator

    path = reference_dir / "pkl" / "sg3t_64.pkl"
    G = load_generator(path)
    photo = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (80, 64, 3), dtype=np.uint8)).save(photo)
    return path, G, photo


def test_projection_job_writes_files_previews_and_the_w_becomes_current(setup, tmp_path):
    path, G, photo = setup
    ctx = Context(path, G)
    previews = []
    handle = JobHandle(name="projection")
    settings = ProjectionPanelSettings(target=str(photo), steps=6, outdir=str(tmp_path / "out"))
    outcome = run_projection(ctx, settings, handle, previews.append)
    assert outcome.w_path == tmp_path / "out" / "projected_w.npz" and outcome.steps_done == 6
    assert (handle.done, handle.total) == (6, 6)
    assert len(previews) == 2  # steps 0 and 5: every PREVIEW_EVERY steps, and the last
    assert previews[0].shape == (64, 128, 4) and previews[0].dtype == np.float32
    use_projected_w(ctx, outcome)
    saved = torch.from_numpy(np.load(outcome.w_path)["w"])
    ctx.state.session.psi = 0.5  # a projected W is final: truncation does not apply to it
    assert torch.equal(session_ws(G, ctx.state.session), saved) and ctx.renders == 1


def test_cancelled_projection_keeps_the_best_w_so_far(setup, tmp_path):
    path, G, photo = setup
    ctx = Context(path, G)
    handle = JobHandle(name="projection")
    report = handle.report

    def report_then_cancel(done, total, text=""):
        report(done, total, text)
        if done >= 2:
            handle.cancel()

    handle.report = report_then_cancel
    settings = ProjectionPanelSettings(target=str(photo), steps=50, outdir=str(tmp_path / "out"))
    outcome = run_body("projection", lambda h: run_projection(ctx, settings, h, lambda p: None), handle)
    assert (outcome.cancelled_at, outcome.total, outcome.error) == (2, 50, None)
    assert outcome.result.steps_done == 2 and Path(outcome.result.w_path).exists()


def test_unreadable_target_fails_the_job_with_one_sentence(setup, tmp_path):
    path, G, _ = setup
    ctx = Context(path, G)
    settings = ProjectionPanelSettings(target=str(tmp_path / "missing.jpg"), steps=3, outdir=str(tmp_path / "out"))
    outcome = run_body("projection", lambda h: run_projection(ctx, settings, h, lambda p: None), JobHandle("p"))
    assert "missing.jpg does not exist" in outcome.error and "\n" not in outcome.error
    assert not (tmp_path / "out").exists()


def test_panel_runs_the_job_and_shows_the_result(setup, tmp_path):
    path, G, photo = setup
    ctx = Context(path, G)
    dpg.create_context()
    try:
        with dpg.texture_registry(tag="textures"), dpg.window():
            panel = ProjectionPanel()
            panel.build(ctx)
        dpg.set_value("proj_steps", 3)
        dpg.set_value("proj_outdir", str(tmp_path / "out"))
        panel.run(ctx)  # no image chosen yet: the button asks for one (a file dialog), then projects it
        assert ctx.outcomes == [] and dpg.is_item_shown(PICK_AND_PROJECT_DIALOG)
        dpg.get_item_callback(PICK_AND_PROJECT_DIALOG)(PICK_AND_PROJECT_DIALOG, {"file_path_name": str(photo)}, None)
        on_done, outcome = ctx.outcomes[0]
        panel.refresh(ctx)  # the preview handed over by the job becomes a texture
        caption, image = dpg.get_item_children("proj_preview", 1)  # a caption over target | projection
        assert dpg.get_value(caption) == "target  |  projection so far" and dpg.get_item_type(image).endswith("mvImage")
        on_done(outcome)
        assert ctx.state.session.w_path == str(tmp_path / "out" / "projected_w.npz")
        assert "PSNR" in dpg.get_value("proj_result") and not ctx.status[1]
        assert dpg.get_item_configuration("proj_progress")["overlay"] == "done: 3/3"
    finally:
        dpg.destroy_context()


def test_latent_panel_project_button_asks_for_the_image_to_project(setup):
    from eqviz.app.panels.latent import LatentPanel

    path, G, _ = setup
    ctx = Context(path, G)
    dpg.create_context()
    try:
        with dpg.texture_registry(tag="textures"), dpg.window():
            LatentPanel().build(ctx)
            ProjectionPanel().build(ctx)
        assert not dpg.is_item_shown(PICK_AND_PROJECT_DIALOG)
        dpg.get_item_callback("latent_project")("latent_project", None, None)
        assert dpg.is_item_shown(PICK_AND_PROJECT_DIALOG)
    finally:
        dpg.destroy_context()
