"""`eqviz compare`: the study's table and a self-contained HTML report for any checkpoints."""

__all__ = ["CompareSpec", "run_comparison", "write_comparison"]

# The study pulls in torch; resolving names on first use lets the command line check the report
# folder (report.files) before it loads anything heavy.
_HOMES = {"CompareSpec": "eqviz.report.study", "run_comparison": "eqviz.report.study",
          "write_comparison": "eqviz.report.files"}


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'eqviz.report' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
