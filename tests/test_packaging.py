"""The wheel as pip builds it: no setuptools warnings, the MIT licence file the metadata names, the one
version, and every kernel file."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import eqviz

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                           "--no-cache-dir", "-w", str(out), str(REPO)], capture_output=True, text=True,
                          timeout=600, env={"TMPDIR": str(build), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    subprocess.run(["rm", "-rf", str(REPO / "build")], check=False)  # setuptools' build folder in the checkout
    return next(out.glob("eqviz-*.whl")), proc.stdout + proc.stderr


def test_setuptools_builds_it_without_a_warning(wheel):
    _, log = wheel
    warnings = [line for line in log.splitlines() if "Warning" in line or "is absent from the `packages`" in line]
    assert not warnings, "\n".join(warnings)


def test_the_wheel_carries_the_licence_the_metadata_names_and_the_one_version(wheel):
    path, _ = wheel
    with zipfile.ZipFile(path) as whl:
        names = whl.namelist()
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        licence = whl.read(next(n for n in names if n.endswith("licenses/LICENSE"))).decode()
    assert "License-Expression: MIT" in metadata and licence.startswith("MIT License")
    assert f"Version: {eqviz.__version__}\n" in metadata
    kernels = {Path(n).name for n in names if n.startswith("eqviz/cuda_ops/kernels/")}
    assert kernels == {p.name for p in (REPO / "cuda_ops" / "kernels").iterdir() if p.suffix in (".cu", ".h", ".fatbin")}
