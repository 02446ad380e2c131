"""FID / KID inside the Metrics panel: real images and Inception weights chosen by path, measured in
the background with progress and cancel like the EQ metrics. Unlike EQ it is defined for StyleGAN2 too,
so it stays visible whatever the loaded generator."""
from __future__ import annotations

import os
import time

import dearpygui.dearpygui as dpg

from eqviz.app.download import progress_line
from eqviz.app.job_panel import JobPanel
from eqviz.app.panel import PanelContext
from eqviz.downloads.weights import INCEPTION_ENV
from eqviz.metrics.fid.pipeline import PIPELINES

MAX_SAMPLES = 50_000
FIELD_WIDTH = 260


def fetched_inception(handle) -> str:
    """The public Inception weights (downloaded once, progress on the job's bar), as no file was given."""
    from eqviz.downloads.weights import INCEPTION_URL, fetch_weights

    start = time.monotonic()

    def progress(done: int, total: int) -> None:
        handle.report(done, total, "Inception weights: " + progress_line(done, total, time.monotonic() - start))

    return str(fetch_weights(INCEPTION_URL, progress=progress, cancel=handle.cancelled))


class FidSection(JobPanel):
    """Built by the Metrics panel inside its own header (not a panel of its own)."""

    job_name = "FID/KID"
    tag_prefix = "fid"
    run_label = "Run FID/KID"

    def __init__(self):
        super().__init__()
        self.result = None

    def build(self, ctx: PanelContext) -> None:
        dpg.add_separator()
        dpg.add_text("FID / KID against real images")
        dpg.add_input_text(label="data (zip or folder)", tag="fid_data", width=FIELD_WIDTH)
        dpg.add_input_text(label="Inception .pth", tag="fid_inception", width=FIELD_WIDTH,
                           default_value=os.environ.get(INCEPTION_ENV, ""),
                           hint="empty: downloaded once")
        with dpg.tooltip("fid_inception"):  # the hint is short enough to fit the box
            dpg.add_text("Empty: torch-fidelity's Inception weights, downloaded once into the cache")
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="FID", tag="fid_use_fid", default_value=True)
            dpg.add_checkbox(label="KID", tag="fid_use_kid", default_value=False)
            dpg.add_combo(list(PIPELINES), tag="fid_pipeline", default_value="tf", width=110)
        dpg.add_input_int(label="samples", tag="fid_samples", default_value=1000, min_value=2, max_value=MAX_SAMPLES,
                          min_clamped=True, max_clamped=True, width=120)
        dpg.add_checkbox(label="resize real images to the generator's resolution", tag="fid_resize")
        self.build_job_controls(ctx)
        dpg.add_text("", tag="fid_result", wrap=0)

    def run(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        metrics = tuple(m for m in ("fid", "kid") if dpg.get_value(f"fid_use_{m}"))
        data = dpg.get_value("fid_data").strip()
        if not metrics or not data:
            ctx.set_status("choose FID and/or KID and the real images (a dataset zip or an image folder)", error=True)
            return
        inception = dpg.get_value("fid_inception").strip() or None
        samples, pipeline, resize = int(dpg.get_value("fid_samples")), dpg.get_value("fid_pipeline"), dpg.get_value("fid_resize")
        G, device = ctx.generator(), ctx.model.device

        def body(handle):
            from eqviz.metrics.fid.compute import compute_fid_kid

            weights = inception or fetched_inception(handle)
            return compute_fid_kid(data, G, weights, metrics=metrics, num_samples=samples, pipeline=pipeline,
                                   resize_data=resize, device=device, cancel=handle.cancelled,
                                   progress=lambda done, total: handle.report(done, total, f"{done}/{total} images"))

        names = " and ".join(m.upper() for m in metrics)
        self.start(ctx, body, f"measuring {names} over {samples} samples ...",
                   about=f"{names}, {samples} samples, {pipeline} pipeline, against {data}")

    def clear_result(self, ctx: PanelContext) -> None:
        self.result = None
        dpg.set_value("fid_result", "")

    def show_result(self, ctx: PanelContext, result, complete: bool) -> None:
        self.result = result
        dpg.set_value("fid_result", result.summary())
        values = [f"FID {result.fid:.3f}" if result.fid is not None else "", f"KID {result.kid:.5f}" if result.kid is not None else ""]
        ctx.set_status(f"{result.protocol.get('fid') or result.protocol.get('kid')}: " + ", ".join(v for v in values if v))
