"""`eqviz compare`: the study's table and a self-contained HTML report for any checkpoints."""
from eqviz.report.files import write_comparison
from eqviz.report.study import CompareSpec, run_comparison

__all__ = ["CompareSpec", "run_comparison", "write_comparison"]
