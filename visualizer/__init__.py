"""The eqviz app, its render worker, the equivariance metrics and the video exporter.

Importing eqviz applies its process defaults (`eqviz.process_tuning`: passive OpenMP waits, heap reuse) to
every entry point alike, the app, the CLI and library use; import it before torch for the waits to apply.
"""
from eqviz.process_tuning import tune_process

__version__ = "0.1.0"  # the one place the version is written; pyproject.toml reads it from here

tune_process()
