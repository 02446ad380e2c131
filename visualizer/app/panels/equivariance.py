"""Equivariance panel: EQ-T / EQ-T frac / EQ-R of the loaded StyleGAN3 over many samples, in the
background with progress and cancel; PSNR with its 95% interval, per-sample plot, mean error map."""
from __future__ import annotations

import dearpygui.dearpygui as dpg
import numpy as np

from eqviz.app.frame_renderer import ERROR_LOG10_RANGE, _colour_ramp, _rgba
from eqviz.app.panel import JobHandle, Panel, PanelContext

METRIC_LABELS = {"eqt_int": "EQ-T", "eqt_frac": "EQ-T frac", "eqr": "EQ-R"}
MAX_SAMPLES = 50_000
SG2_NOTE = ("Equivariance is not defined for StyleGAN2: its generator has no input transform, so there is "
            "no way to ask it for a translated or rotated image to compare against.")


class _CancelFlag:
    """The Event-like object compute_equivariance polls, backed by the job's cancel request."""

    def __init__(self, handle_ref: list):
        self._ref = handle_ref

    def is_set(self) -> bool:
        return bool(self._ref) and self._ref[0].cancel_requested


def error_map_rgba(error_map: np.ndarray) -> np.ndarray:
    """Mean squared-error map [H, W] -> RGBA on the live map's log scale."""
    lo, hi = ERROR_LOG10_RANGE
    scaled = (np.log10(np.maximum(error_map.astype(np.float64), 10 ** lo)) - lo) / (hi - lo)
    return _rgba(_colour_ramp(scaled).astype(np.float32))


def format_result(result) -> str:
    lines = []
    for metric, psnr in result.psnr_db.items():
        low, high = result.interval_db[metric]
        lines.append(f"{METRIC_LABELS[metric]:10s} {psnr:6.2f} dB   95% interval [{low:.2f}, {high:.2f}]")
    done = len(result.sample_indices)
    state = "" if result.complete else "  (cancelled: partial)"
    lines.append(f"{done} samples in {result.elapsed_s:.1f} s{state}")
    return "\n".join(lines)


class EquivariancePanel(Panel):
    title = "Equivariance metrics"
    default_open = False

    def __init__(self):
        self.job: JobHandle | None = None
        self.result = None
        self._map_array = None
        self._map_texture = None

    def build(self, ctx: PanelContext) -> None:
        dpg.add_text(SG2_NOTE, tag="eq_sg2_note", wrap=400, show=False, color=(230, 190, 120))
        with dpg.group(tag="eq_controls"):
            with dpg.group(horizontal=True):
                for metric, label in METRIC_LABELS.items():
                    dpg.add_checkbox(label=label, tag=f"eq_use_{metric}", default_value=True)
            dpg.add_input_int(label="samples", tag="eq_samples", default_value=64, min_value=1,
                              max_value=MAX_SAMPLES, min_clamped=True, max_clamped=True, width=120)
            dpg.add_input_int(label="batch", tag="eq_batch", default_value=8, min_value=1, max_value=256,
                              min_clamped=True, max_clamped=True, width=120)
            dpg.add_input_int(label="seed", tag="eq_seed", default_value=0, min_value=0, min_clamped=True, width=120)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Run", tag="eq_run", callback=lambda *_: self._run(ctx))
                dpg.add_button(label="Cancel", tag="eq_cancel", enabled=False, callback=lambda *_: self._cancel())
            dpg.add_progress_bar(tag="eq_progress", default_value=0.0, width=-1, overlay="")
            dpg.add_text("", tag="eq_result")
            with dpg.plot(label="per-sample PSNR (dB)", height=160, width=-1, tag="eq_plot"):
                dpg.add_plot_legend()
                dpg.add_plot_axis(dpg.mvXAxis, label="sample", tag="eq_x", auto_fit=True)
                with dpg.plot_axis(dpg.mvYAxis, label="dB", tag="eq_y", auto_fit=True):
                    for metric, label in METRIC_LABELS.items():
                        dpg.add_line_series([], [], label=label, tag=f"eq_series_{metric}")
            dpg.add_combo(list(METRIC_LABELS.values()), label="mean error map", tag="eq_map_metric",
                          default_value="EQ-T", width=120, callback=lambda *_: self._show_map())
            dpg.add_group(tag="eq_map_group")

    # -- running ----------------------------------------------------------------------------------
    def _run(self, ctx: PanelContext) -> None:
        if self.job is not None or ctx.model is None:
            return
        metrics = tuple(m for m in METRIC_LABELS if dpg.get_value(f"eq_use_{m}"))
        if not metrics:
            ctx.set_status("choose at least one equivariance metric", error=True)
            return
        samples, batch, seed = (int(dpg.get_value(t)) for t in ("eq_samples", "eq_batch", "eq_seed"))
        handle_ref: list = []
        cancel = _CancelFlag(handle_ref)

        def body(progress, _cancelled):
            from eqviz.metrics.equivariance.run import EquivarianceCancelled, compute_equivariance
            G = ctx.clone_generator()
            if G is None:
                return None
            try:
                return compute_equivariance(G, metrics=metrics, num_samples=samples, batch_size=batch, seed=seed,
                                            progress=lambda done, total: progress(done / max(total, 1),
                                                                                  f"{done}/{total}"),
                                            cancel=cancel)
            except EquivarianceCancelled as exc:
                return exc.partial

        self.job = ctx.start_job("equivariance", body, lambda result, error: self._done(ctx, result, error))
        handle_ref.append(self.job)
        dpg.configure_item("eq_run", enabled=False)
        dpg.configure_item("eq_cancel", enabled=True)
        ctx.set_status(f"measuring {', '.join(METRIC_LABELS[m] for m in metrics)} over {samples} samples ...")

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _done(self, ctx: PanelContext, result, error: str | None) -> None:
        self.job = None
        dpg.configure_item("eq_run", enabled=True)
        dpg.configure_item("eq_cancel", enabled=False)
        if error is not None:
            ctx.set_status(error, error=True)
            return
        if result is None:
            ctx.set_status("equivariance cancelled before any sample finished")
            return
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
        self._show_map()
        ctx.set_status("equivariance: " + "; ".join(f"{METRIC_LABELS[m]} {v:.2f} dB" for m, v in result.psnr_db.items()))

    def _show_map(self) -> None:
        if self.result is None:
            return
        wanted = {v: k for k, v in METRIC_LABELS.items()}[dpg.get_value("eq_map_metric")]
        error_map = self.result.mean_error_maps.get(wanted)
        if error_map is None:
            return
        array = error_map_rgba(np.asarray(error_map))
        if self._map_array is not None and self._map_array.shape == array.shape:
            dpg.set_value(self._map_texture, array)
        else:
            if self._map_texture is not None:
                dpg.delete_item("eq_map_group", children_only=True)
                dpg.delete_item(self._map_texture)
            h, w = array.shape[:2]
            self._map_texture = dpg.add_raw_texture(w, h, array, format=dpg.mvFormat_Float_rgba, parent="textures")
            scale = max(1, 256 // max(w, h))
            dpg.add_image(self._map_texture, parent="eq_map_group", width=min(w * scale, 380), height=min(h * scale, 380))
        self._map_array = array  # dpg keeps a pointer into it

    # -- mirror -----------------------------------------------------------------------------------
    def refresh(self, ctx: PanelContext) -> None:
        if self.job is not None:
            dpg.set_value("eq_progress", self.job.fraction)
            dpg.configure_item("eq_progress", overlay=self.job.text)

    def on_model_changed(self, ctx: PanelContext) -> None:
        supported = ctx.model.supports_input_transform
        dpg.configure_item("eq_sg2_note", show=not supported)
        dpg.configure_item("eq_controls", show=supported)

    def close(self) -> None:
        self._cancel()
