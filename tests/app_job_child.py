"""Run by tests/test_app_lifecycle.py in its own process: `eqviz gui`'s App.run on a checkpoint, with one
background job started as soon as the first frame is shown; prints RUNNING once the job has made
progress, then waits to be closed (window close, SIGTERM or SIGINT). The exit code is App.run's.

usage: python app_job_child.py CHECKPOINT JOB OUT [IMAGE]   (JOB: video | equivariance | projection)
"""
import sys
from pathlib import Path

import dearpygui.dearpygui as dpg

sys.path.insert(0, str(Path(__file__).parent))
from app_driver import settle, step_until  # noqa: E402
from eqviz.app.app import App, AppOptions  # noqa: E402


def start_job(app, job, out, image):
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
