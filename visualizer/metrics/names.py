"""The metrics eqviz measures, by the names the API and the command line use and the labels the paper uses.

A leaf module (no torch), so the command line checks `--metrics` before it loads anything heavy.
"""
EQ_METRICS = ("eqt_int", "eqt_frac", "eqr")
EQ_LABELS = {"eqt_int": "EQ-T", "eqt_frac": "EQ-T frac", "eqr": "EQ-R"}  # as the paper names them
DATA_METRICS = ("fid", "kid")  # measured against real images
DATA_LABELS = {"fid": "FID", "kid": "KID"}
METRIC_LABELS = {**EQ_LABELS, **DATA_LABELS}
