"""Run by tests/test_app_lifecycle.py in its own process: `eqviz gui`'s App.run on a checkpoint, with one
background job started as soon as the first frame is shown; prints RUNNING once the job has made
progress, then waits to be closed (window close, SIGTERM or SIGINT). The exit code is App.run's.
JOB render is no job but a frame whose rendering keeps torch busy for a minute, longer than closing waits;
JOB slow-video is a video export whose third batch of frames does the same; JOB slow-projection a
projection whose second step takes 8 s (longer than closing waits for other jobs).

usage: python app_job_child.py CHECKPOINT JOB OUT [IMAGE]
       (JOB: video | slow-video | equivariance | projection | slow-projection | render)
"""
import sys
import threading
import time
from pathlib import Path

import dearpygui.dearpygui as dpg

sys.path.insert(0, str(Path(__file__).parent))
from app_driver import settle, step_until  # noqa: E402
from eqviz.app.app import App, AppOptions  # noqa: E402


def a_minute_of_torch(seconds=60):
    """Many short torch ops, as a large model's frame on a CPU."""
    import torch

    x = torch.randn(256, 256)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        x = torch.tanh(x @ x)


def start_slow_render(app):
    """The next frame renders for a minute of torch work."""
    from eqviz.app.frame_renderer import FrameRenderer

    started = threading.Event()
    render = FrameRenderer.render

    def slow_render(renderer, request):
        started.set()
        a_minute_of_torch()
        return render(renderer, request)

    FrameRenderer.render = slow_render
    app.state.step_seed(+1)
    app.request_render()
    step_until(app, started.is_set, timeout=60)
    print("RUNNING", flush=True)


def slow_down_video_batches():
    """From the third batch on, launching a video batch takes a minute of torch work."""
    from eqviz.video.render import FrameSource

    launch, launched = FrameSource.launch, []

    def slow_launch(source, indices):
        launched.append(indices)
        if len(launched) > 2:
            a_minute_of_torch()
        return launch(source, indices)

    FrameSource.launch = slow_launch


def slow_down_the_second_projection_step():
    """The projection's second synthesis takes 8 s more; returns the event set when it begins."""
    from eqviz.projection import projector

    synthesize, calls, started = projector.synthesize, [], threading.Event()

    def slow_synthesize(G, ws):
        calls.append(1)
        if len(calls) == 2:
            started.set()
            a_minute_of_torch(8)
        return synthesize(G, ws)

    projector.synthesize = slow_synthesize
    return started


def start_job(app, job, out, image):
    if job == "render":
        return start_slow_render(app)
    slow_step = None
    if job == "slow-projection":
        slow_step = slow_down_the_second_projection_step()
        job = "projection"
    if job == "slow-video":
        slow_down_video_batches()
        job = "video"
    name = {"video": "video export"}.get(job, job)
    panel = next(p for p in app.panels if getattr(p, "job_name", "") == name)
    if job == "video":
        for tag, value in (("vid_frames", 2000), ("vid_out", out), ("vid_size", 64)):
            dpg.set_value(tag, value)
    elif job == "equivariance":
        dpg.set_value("eq_samples", 50_000)
    else:
        for tag, value in (("proj_target", image), ("proj_outdir", out), ("proj_losses", "pixel"), ("proj_steps", 5000)):
            dpg.set_value(tag, value)
    panel.run(app)
    assert panel.job is not None, app.status
    step_until(app, lambda: panel.job is not None and panel.job.done > 0, timeout=120)
    if slow_step is not None:
        step_until(app, slow_step.is_set, timeout=120)
    print("RUNNING", flush=True)


def main():
    checkpoint, job, out, image = (sys.argv[1:] + [""])[:4]
    started = App.start

    def start_then_job(app):
        started(app)
        settle(app)
        start_job(app, job, out, image)

    App.start = start_then_job
    sys.exit(App(AppOptions(checkpoint=checkpoint, title=f"eqviz-{job}")).run())


if __name__ == "__main__":
    main()
