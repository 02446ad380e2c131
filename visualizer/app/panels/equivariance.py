"""Equivariance panel: EQ-T / EQ-T frac / EQ-R of the loaded StyleGAN3 over many samples, in the
background with progress and cancel; PSNR with its 95% interval, per-sample plot, mean error map.
Below them FID / KID against real images (eqviz.app.fid_section), defined for StyleGAN2 too."""
from __future__ import annotations

import dearpygui.dearpygui as dpg
import numpy as np
import torch

from eqviz.app.fid_section import FidSection
from eqviz.app.job_panel import JobPanel
from eqviz.app.panel import PanelContext
from eqviz.app.widgets import add_field_error, show_field_error
from eqviz.core.colormaps import ERROR_LEGEND_CAPTION, error_colours, error_legend
from eqviz.core.images import rgba
from eqviz.metrics.names import EQ_LABELS as METRIC_LABELS

MAX_SAMPLES = 50_000
COUNTS = {"eq_samples": ("samples", 1, MAX_SAMPLES), "eq_batch": ("batch", 1, 256)}  # tag: (name, low, high)

MAP_WIDTH = 380  # screen pixels of the mean error map and its legend
SG2_NOTE = ("Equivariance is not defined for StyleGAN2: its generator has no input transform, so there is "
            "no way to ask it for a translated or rotated image to compare against.")


def count_problem(tag: str) -> str | None:
    """Why the count typed in `tag` cannot run (None: it can)."""
    name, low, high = COUNTS[tag]
    value = int(dpg.get_value(tag))
    return None if low <= value <= high else f"{name} {value} is out of range: type {low} to {high}"


def error_map_rgba(error_map: np.ndarray) -> np.ndarray:
    """A mean error map ([H, W], `squared_error_map` per pixel) -> RGBA on the one error scale."""
    return rgba(error_colours(torch.from_numpy(np.asarray(error_map, dtype=np.float64))).numpy())


def format_result(result) -> str:
    lines = []
    for metric, psnr in result.psnr_db.items():
        low, high = result.interval_db[metric]
        lines.append(f"{METRIC_LABELS[metric]:10s} {psnr:6.2f} dB   95% interval [{low:.2f}, {high:.2f}]")
    done = len(result.sample_indices)
    state = "" if result.complete else "  (cancelled: partial)"
    lines.append(f"{done} samples in {result.elapsed_s:.1f} s{state}")
    return "\n".join(lines)


class EquivariancePanel(JobPanel):
    title = "Metrics (EQ, FID, KID)"
    default_open = False
    job_name = "equivariance"
    tag_prefix = "eq"

    def __init__(self):
        super().__init__()
        self.result = None
        self._map_array = None
        self._map_texture = None
        self._legend_array = None  # dpg keeps a pointer into it
        self.fid = FidSection()    # a second background job, outside the StyleGAN3-only controls

    def build(self, ctx: PanelContext) -> None:
        dpg.add_text(SG2_NOTE, tag="eq_sg2_note", wrap=0, show=False, color=(230, 190, 120))
        with dpg.group(tag="eq_controls"):
            with dpg.group(horizontal=True):
                for metric, label in METRIC_LABELS.items():
                    dpg.add_checkbox(label=label, tag=f"eq_use_{metric}", default_value=True)
            for tag, default in (("eq_samples", 64), ("eq_batch", 8)):  # out of range: refused beside the box
                dpg.add_input_int(label=COUNTS[tag][0], tag=tag, default_value=default, width=120,
                                  callback=lambda *_, t=tag: show_field_error(t, count_problem(t)))
                add_field_error(tag)
            dpg.add_input_int(label="seed", tag="eq_seed", default_value=0, min_value=0, min_clamped=True, width=120)
            self.build_job_controls(ctx)
            dpg.add_text("", tag="eq_result")
            with dpg.plot(label="per-sample PSNR (dB)", height=160, width=-1, tag="eq_plot"):
                dpg.add_plot_legend()
                # Fitted when a result arrives (fit_axis_data), not with auto_fit: an auto-fitting axis
                # crashes Dear PyGui 2.3 in the next context of the same process (a second App).
                dpg.add_plot_axis(dpg.mvXAxis, label="sample", tag="eq_x")
                with dpg.plot_axis(dpg.mvYAxis, label="dB", tag="eq_y"):
                    for metric, label in METRIC_LABELS.items():
                        dpg.add_line_series([], [], label=label, tag=f"eq_series_{metric}")
            dpg.add_combo(list(METRIC_LABELS.values()), label="mean error map", tag="eq_map_metric",
                          default_value="EQ-T", width=120, callback=lambda *_: self._show_map())
            dpg.add_group(tag="eq_map_group")
            self._legend_array = rgba(error_legend(MAP_WIDTH))
            h, w = self._legend_array.shape[:2]
            legend = dpg.add_raw_texture(w, h, self._legend_array, format=dpg.mvFormat_Float_rgba, parent="textures")
            dpg.add_image(legend, tag="eq_map_legend", width=w, height=h)
            dpg.add_text(ERROR_LEGEND_CAPTION, color=(150, 150, 150))
        self.fid.build(ctx)

    # -- running ----------------------------------------------------------------------------------
    def run(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        metrics = tuple(m for m in METRIC_LABELS if dpg.get_value(f"eq_use_{m}"))
        if not metrics:
            ctx.set_status("choose at least one equivariance metric", error=True)
            return
        problems = {tag: count_problem(tag) for tag in COUNTS}
        for tag, problem in problems.items():
            show_field_error(tag, problem)
        if any(problems.values()):
            ctx.set_status(next(p for p in problems.values() if p), error=True)
            return
        samples, batch, seed = (int(dpg.get_value(t)) for t in ("eq_samples", "eq_batch", "eq_seed"))
        device = ctx.model.device
        G = ctx.generator()

        def body(handle):
            from eqviz.metrics.equivariance.run import compute_equivariance

            return compute_equivariance(G, metrics=metrics, num_samples=samples, batch_size=batch, seed=seed,
                                        device=device, cancel=handle.cancelled,
                                        progress=lambda done, total: handle.report(done, total, f"{done}/{total} samples"))

        names = ", ".join(METRIC_LABELS[m] for m in metrics)
        self.start(ctx, body, f"measuring {names} over {samples} samples ...",
                   about=f"{names}, {samples} samples from seed {seed}, batch {batch}")

    def clear_result(self, ctx: PanelContext) -> None:
        self.result = None
        dpg.set_value("eq_result", "")
        for metric in METRIC_LABELS:
            dpg.set_value(f"eq_series_{metric}", [[], []])
        dpg.delete_item("eq_map_group", children_only=True)
        if self._map_texture is not None:
            dpg.delete_item(self._map_texture)
        self._map_texture = self._map_array = None

    def show_result(self, ctx: PanelContext, result, complete: bool) -> None:
        self.result = result
        dpg.set_value("eq_result", format_result(result))
        for metric in METRIC_LABELS:
            values = result.per_sample_psnr_db.get(metric)
            if values is None:
                dpg.set_value(f"eq_series_{metric}", [[], []])
                continue
            finite = np.where(np.isfinite(values), values, np.nan)
            keep = ~np.isnan(finite)
            x = result.sample_indices[keep].astype(float).tolist()
            dpg.set_value(f"eq_series_{metric}", [x, finite[keep].astype(float).tolist()])
        for axis in ("eq_x", "eq_y"):
            dpg.fit_axis_data(axis)
        self._show_map()
        if complete:
            ctx.set_status("equivariance: " + "; ".join(f"{METRIC_LABELS[m]} {v:.2f} dB" for m, v in result.psnr_db.items()))

    def _show_map(self) -> None:
        if self.result is None:
            return
        wanted = {v: k for k, v in METRIC_LABELS.items()}[dpg.get_value("eq_map_metric")]
        error_map = self.result.mean_error_maps.get(wanted)
        if error_map is None:
            return
        array = error_map_rgba(error_map)
        if self._map_array is not None and self._map_array.shape == array.shape:
            dpg.set_value(self._map_texture, array)
        else:
            if self._map_texture is not None:
                dpg.delete_item("eq_map_group", children_only=True)
                dpg.delete_item(self._map_texture)
            h, w = array.shape[:2]
            self._map_texture = dpg.add_raw_texture(w, h, array, format=dpg.mvFormat_Float_rgba, parent="textures")
            scale = max(1, 256 // max(w, h))
            dpg.add_image(self._map_texture, parent="eq_map_group", width=min(w * scale, MAP_WIDTH),
                          height=min(h * scale, MAP_WIDTH))
        self._map_array = array  # dpg keeps a pointer into it

    def on_model_changed(self, ctx: PanelContext) -> None:
        supported = ctx.model.supports_input_transform
        dpg.configure_item("eq_sg2_note", show=not supported)
        dpg.configure_item("eq_controls", show=supported)

    def refresh(self, ctx: PanelContext) -> None:
        super().refresh(ctx)
        self.fid.refresh(ctx)

    def forget_model(self, ctx: PanelContext) -> None:
        super().forget_model(ctx)
        self.fid.forget_model(ctx)
