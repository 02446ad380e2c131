"""What CI relies on: a missing reference folder fails the run (with where to put it) instead of
skipping every golden comparison."""
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def run_pytest(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "--collect-only",
                           str(TESTS / "test_outputs_progress.py")], capture_output=True, text=True, env=env, timeout=300)


def test_required_reference_data_that_is_missing_fails_the_run_and_says_where_it_goes(tmp_path):
    missing = tmp_path / "no-reference"
    result = run_pytest({"EQVIZ_REQUIRE_REFERENCE": "1", "EQVIZ_REFERENCE": str(missing)})
    assert result.returncode == 4
    assert str(missing) in result.stdout + result.stderr and "EQVIZ_REFERENCE" in result.stdout + result.stderr


def test_without_the_requirement_a_missing_folder_only_skips():
    result = run_pytest({"EQVIZ_REQUIRE_REFERENCE": "0", "EQVIZ_REFERENCE": "/nonexistent-reference"})
    assert result.returncode == 0, result.stdout + result.stderr
