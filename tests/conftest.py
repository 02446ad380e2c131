"""Shared fixtures: where NVIDIA's reference data lives, and a fixed CPU thread count."""
import os
from pathlib import Path

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does; must precede `import torch`

import pytest  # noqa: E402
import torch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent

# One setting locates the reference data; it defaults to the folder beside the checkout.
REFERENCE_DIR = Path(os.environ.get("EQVIZ_REFERENCE", REPO_ROOT.parent / "shared" / "reference"))

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The reference folder; tests that need it skip with the reason when it is missing."""
    if not (REFERENCE_DIR / "README.md").is_file():
        pytest.skip(f"reference data not found at {REFERENCE_DIR} (set EQVIZ_REFERENCE to NVIDIA's reference folder)")
    return REFERENCE_DIR
