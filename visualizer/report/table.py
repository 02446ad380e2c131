"""The study's table: rows = checkpoints (kind, resolution), columns = metrics with their uncertainty.

One set of cell texts feeds both table.md and the HTML report, so they always say the same.
"""
from eqviz.report.study import EQ_METRICS, METRIC_LABELS, Comparison, CheckpointReport

NOT_DEFINED = "not defined"


def column_title(metric: str, comparison: Comparison) -> str:
    if metric in EQ_METRICS:
        return f"{METRIC_LABELS[metric]} (dB, {comparison.spec.num_samples} samples)"
    protocols = {r.fid_kid.protocol[metric] for r in comparison.reports if r.fid_kid is not None}
    return f"{METRIC_LABELS[metric]} ({', '.join(sorted(protocols))})"


def cell(report: CheckpointReport, metric: str) -> str:
    """'3.67 ± 0.05' (FID, bootstrap std), '0.0012 ± 0.0003' (KID, subset std), '61.78 [61.20, 62.31]' (EQ, 95%)."""
    if metric in EQ_METRICS:
        if report.eq is None:
            return NOT_DEFINED
        lo, hi = report.eq.interval_db[metric]
        return f"{report.eq.psnr_db[metric]:.2f} [{lo:.2f}, {hi:.2f}]"
    f = report.fid_kid
    if metric == "fid":
        return f"{f.fid:.2f}" + (f" ± {f.fid_std:.2f}" if f.fid_std is not None else "")
    return f"{f.kid:.4f}" + (f" ± {f.kid_std:.4f}" if f.kid_std is not None else "")


def table_rows(comparison: Comparison) -> tuple:
    """(header cells, rows of cells, notes under the table)."""
    metrics = comparison.spec.metrics
    header = ["checkpoint", "kind", "resolution"] + [column_title(m, comparison) for m in metrics]
    rows = [[r.name, r.kind, f"{r.resolution}x{r.resolution}"] + [cell(r, m) for m in metrics] for r in comparison.reports]
    notes = []
    undefined = sorted({f"{r.name}: EQ {r.eq_undefined}" for r in comparison.reports if r.eq_undefined and
                        any(m in EQ_METRICS for m in metrics)})
    notes += undefined
    if any(m in EQ_METRICS for m in metrics):
        notes.append("EQ: PSNR in dB (peak 2) pooled over samples, with its 95% bootstrap interval; higher is more equivariant.")
    if "fid" in metrics:
        notes.append(f"FID ± the standard deviation of {comparison.spec.bootstrap_replicates} Poisson-bootstrap replicates "
                     f"over the generated samples; {comparison.spec.pipeline} pipeline.")
    if "kid" in metrics:
        notes.append("KID ± the standard deviation over its subsets.")
    return header, rows, notes


def markdown_table(comparison: Comparison) -> str:
    header, rows, notes = table_rows(comparison)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join([":--"] * 3 + ["--:"] * (len(header) - 3)) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
