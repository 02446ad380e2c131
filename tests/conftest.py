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

# CI sets EQVIZ_REQUIRE_REFERENCE=1: there a missing folder fails the run instead of skipping every
# golden comparison.
REQUIRE_REFERENCE = os.environ.get("EQVIZ_REQUIRE_REFERENCE", "") not in ("", "0")

MISSING_REFERENCE = (f"NVIDIA's reference data not found at {REFERENCE_DIR}: put the reference folder (README.md, golden/, "
                     f"pkl/, weights/) there, beside the checkout as ../shared/reference, or point EQVIZ_REFERENCE at it")

torch.set_num_threads(2)


def reference_present() -> bool:
    return (REFERENCE_DIR / "README.md").is_file()


def pytest_sessionstart(session):
    if REQUIRE_REFERENCE and not reference_present():
        pytest.exit(f"EQVIZ_REQUIRE_REFERENCE is set and {MISSING_REFERENCE}", returncode=4)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The reference folder; tests that need it skip with the reason when it is missing (fail under CI)."""
    if not reference_present():
        if REQUIRE_REFERENCE:
            pytest.fail(MISSING_REFERENCE)
        pytest.skip(MISSING_REFERENCE)
    return REFERENCE_DIR
