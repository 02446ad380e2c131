"""Shared fixtures: where NVIDIA's reference data lives, a fixed CPU thread count, one window per process."""
import os
import subprocess
import sys
from pathlib import Path

# A fixed thread count (set below) in this process and the CLI processes it starts: repeated renders compared
# bit for bit must not change their sums' split between threads with the load of the machine.
os.environ["EQVIZ_ADAPTIVE_THREADS"] = "0"

import eqviz  # noqa: E402,F401  (its process tuning, as every entry point; must precede `import torch`)

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

# No test touches the internet: anything not cached fails in one sentence instead of downloading.
# The download tests switch this off to talk to their own local server (tests/file_server.py).
os.environ["EQVIZ_OFFLINE"] = "1"


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


# -- one app window per process ------------------------------------------------------------------
# The app opens one Dear PyGui context per process, as `eqviz` does. Dear PyGui 2.3 can crash when a
# process destroys a window's context and builds another (tests/app_driver.py says why), so when a run collects
# several window modules (marker `gui`), each runs in a child pytest of its own and reports here as
# one test; a run of one window module runs it in this process as usual.
WINDOW_CHILD = "EQVIZ_WINDOW_TEST_CHILD"


class WindowModule(pytest.Item):
    """A whole window-test module, run by a child pytest."""

    def runtest(self):
        env = {**os.environ, WINDOW_CHILD: "1"}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", str(self.path)]
        proc = subprocess.run(own_display(command), cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        self.output = proc.stdout + proc.stderr
        if proc.returncode not in (0, 5):  # 5: everything skipped or deselected
            raise WindowModuleFailed(self.output)
        summary = [line for line in self.output.splitlines() if line.strip()]
        self.add_report_section("call", "child pytest", summary[-1] if summary else "")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, WindowModuleFailed):
            return f"window tests in {self.path.name} failed in their own process:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name} (own process)"


def own_display(command: list[str]) -> list[str]:
    """`command` on an X display of its own when pytest-xdist runs window modules side by side: xdotool's
    real input goes to whichever window is under the pointer, so two windows must not share a screen.
    Each worker searches for a free display number from its own base, so two never race for one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return command
    base = 100 + 10 * int(worker.removeprefix("gw"))
    return ["xvfb-run", "-a", "-n", str(base), *command]  # the same screen as the README command's xvfb-run


class WindowModuleFailed(Exception):
    """The child pytest of a window module failed; its output is the message."""


def pytest_collection_modifyitems(session, config, items):
    if os.environ.get(WINDOW_CHILD):
        return
    window_items = [item for item in items if item.get_closest_marker("gui")]
    modules = sorted({item.path for item in window_items})
    if len(modules) >= 2:
        kept = [item for item in items if item not in window_items]
        for path in modules:
            module_item = next(item for item in window_items if item.path == path).getparent(pytest.Module)
            kept.append(WindowModule.from_parent(module_item, name=f"{path.stem} (own process)"))
        items[:] = kept
    # The long ones first: pytest-xdist hands the first tests out in turn, so they spread over the workers and
    # the many short ones fill the gaps, instead of one worker finishing a window module alone at the end.
    items.sort(key=lambda item: not (isinstance(item, WindowModule) or item.get_closest_marker("slow")))
