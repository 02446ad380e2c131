"""report.html: one self-contained page (every image and plot embedded as base64 PNG, no external files).

Plots are matplotlib figures drawn without pyplot (no global backend, safe off the main thread).
"""
import base64
import html
import io

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from PIL import Image

from eqviz.core.colormaps import ERROR_COLORMAP, ERROR_LOG10_RANGE
from eqviz.report.study import EQ_METRICS, METRIC_LABELS, Comparison, per_sample_psnrs
from eqviz.report.table import table_rows

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1240px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #bbb; padding: 4px 10px; text-align: right; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
.row { display: flex; align-items: center; gap: 12px; margin: 6px 0; }
.row .label { width: 150px; font-size: 13px; }
img.strip { image-rendering: pixelated; height: 96px; }
.note { color: #555; font-size: 13px; }
"""


def png_data_uri(img: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def strip(images: list) -> np.ndarray:
    """Images [H, W, 3] side by side with a 2-pixel white gap."""
    h = max(i.shape[0] for i in images)
    gap = np.full((h, 2, 3), 255, np.uint8)
    parts = []
    for img in images:
        parts += [img, gap]
    return np.concatenate(parts[:-1], axis=1)


def image_rows(comparison: Comparison, attribute: str, notes: bool = False) -> str:
    out = []
    for r in comparison.reports:
        label = html.escape(f"{r.name} ({r.kind})")
        note = f'<div class="note">{html.escape(r.rotation_note)}</div>' if notes else ""
        out.append(f'<div class="row"><div class="label">{label}</div>'
                   f'<div><img class="strip" src="{png_data_uri(strip(getattr(r, attribute)))}">{note}</div></div>')
    return "\n".join(out)


def distribution_figure(comparison: Comparison) -> Figure | None:
    """Per-sample PSNR histograms, one panel per EQ metric, one colour per checkpoint."""
    metrics = [m for m in comparison.spec.metrics if m in EQ_METRICS]
    measured = [r for r in comparison.reports if r.eq is not None]
    if not metrics or not measured:
        return None
    fig = Figure(figsize=(4.2 * len(metrics), 3.2))
    for k, m in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1)
        for r in measured:
            values = per_sample_psnrs(r, m)
            if len(values):
                ax.hist(values, bins=min(30, max(5, len(values) // 2)), alpha=0.55, label=f"{r.name} ({r.kind})")
        ax.set_title(f"{METRIC_LABELS[m]}: per-sample PSNR")
        ax.set_xlabel("PSNR (dB)")
        ax.set_ylabel("samples")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def heatmap_figure(comparison: Comparison) -> Figure | None:
    """Mean squared error per pixel (the metric's `squared_error_map`), rows = checkpoints, columns = EQ
    metrics, on the app's error scale (log, 1e-6 .. 1, magma)."""
    metrics = [m for m in comparison.spec.metrics if m in EQ_METRICS]
    measured = [r for r in comparison.reports if r.eq is not None]
    if not metrics or not measured:
        return None
    lo, hi = ERROR_LOG10_RANGE
    norm = LogNorm(vmin=10.0**lo, vmax=10.0**hi)
    fig = Figure(figsize=(3.0 * len(metrics) + 1, 2.8 * len(measured)))
    axes = fig.subplots(len(measured), len(metrics), squeeze=False)
    shown = None
    for i, r in enumerate(measured):
        for j, m in enumerate(metrics):
            err = np.clip(r.eq.mean_error_maps[m], 10.0**lo, None)
            shown = axes[i, j].imshow(err, cmap=ERROR_COLORMAP, norm=norm)
            axes[i, j].set_title(f"{r.name}: {METRIC_LABELS[m]}", fontsize=9)
            axes[i, j].axis("off")
    fig.colorbar(shown, ax=axes, shrink=0.8, label="mean squared error per pixel")
    return fig


def report_html(comparison: Comparison) -> str:
    header, rows, notes = table_rows(comparison)
    table = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows) + "</table>"
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    s = comparison.spec
    seeds = ", ".join(str(x) for x in s.seeds)
    sections = [
        f"<h1>eqviz comparison</h1><p class='note'>eqviz {html.escape(comparison.version)}, "
        f"{comparison.elapsed_s:.0f} s; data: {html.escape(str(s.data) if s.data else 'none')}</p>",
        f"<h2>The table</h2>{table}<ul class='note'>{notes_html}</ul>",
        f"<h2>Samples at the same seeds ({seeds})</h2><p class='note'>z from each seed as NVIDIA's gen_images.py, "
        f"psi 1, noise const.</p>{image_rows(comparison, 'samples')}",
    ]
    dist = distribution_figure(comparison)
    if dist is not None:
        sections.append(f"<h2>Per-sample equivariance</h2><img src='{figure_data_uri(dist)}'>")
    heat = heatmap_figure(comparison)
    if heat is not None:
        sections.append(f"<h2>Mean equivariance error</h2><p class='note'>where in the image the transformed "
                        f"output differs from the transformed reference, averaged over samples</p>"
                        f"<img src='{figure_data_uri(heat)}'>")
    sections.append(f"<h2>Long-exposure averages (texture sticking)</h2><p class='note'>each image averages "
                    f"{s.exposure_samples} latents around the seed: details that move with the latent blur out, "
                    f"details stuck to pixel coordinates stay sharp.</p>{image_rows(comparison, 'long_exposures')}")
    sections.append(f"<h2>Rotation strip</h2>{image_rows(comparison, 'rotation_strip', notes=True)}")
    body = "\n".join(sections)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>eqviz comparison</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")
