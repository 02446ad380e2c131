"""Hostile side inputs (tests/hostile_side_files.py) for every reader of a file eqviz did not write:
image targets, FID folders and zips with dataset.json, sessions, W files, direction files, Inception
and LPIPS weights. Each is refused with one sentence that names the cause, in a forked child under a
4 GB address space, within 60 CPU seconds and 1.5 GB of memory growth; a sample goes through the real
CLI (exit 2, one line: no traceback, no library warning or log line; nothing written), and PostScript is never handed to Pillow's
EPS plugin (so Ghostscript never runs)."""
import os
import subprocess
import sys

import pytest

from checkpoint_fuzz import FuzzRunner
from hostile_side_files import CASE_NAMES, POSTSCRIPT_MARKER, build_all

MAX_SECONDS = 60
MAX_GROWTH = 1.5e9
MAX_MESSAGE = 600
ADDRESS_SPACE = 4 << 30


@pytest.fixture(scope="module")
def hostile(reference_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile_side")
    files = build_all(work, reference_dir)
    runner = FuzzRunner(work, address_space=ADDRESS_SPACE, timeout=MAX_SECONDS + 30,
                         reference=reference_dir)
    yield files, runner
    runner.close()


def test_every_reader_has_hostile_cases(hostile):
    files, _ = hostile
    assert sorted(files) == sorted(CASE_NAMES)
    assert {reader for reader, _ in files} == {"target", "fid_data", "session", "w", "directions", "inception",
                                                "lpips"}


@pytest.mark.parametrize("case", CASE_NAMES, ids=lambda case: f"{case[0]}: {case[1]}")
def test_hostile_side_file_is_refused_in_one_sentence_naming_the_cause(hostile, case):
    files, runner = hostile
    path, words = files[case]
    outcome = runner.run(path, case[0])
    assert outcome.status == "refused", (outcome.status, outcome.detail[-800:])
    assert "\n" not in outcome.detail and len(outcome.detail) < MAX_MESSAGE, outcome.detail[:2000]
    assert words in outcome.detail, outcome.detail
    for advice in ("weights_only", "allow_pickle", "unsafe"):
        assert advice not in outcome.detail
    assert outcome.seconds < MAX_SECONDS
    assert outcome.peak_growth < MAX_GROWTH, outcome.peak_growth
    assert not POSTSCRIPT_MARKER.exists() and not POSTSCRIPT_MARKER.with_name(POSTSCRIPT_MARKER.name + "-pickle").exists()


def test_postscript_never_reaches_pillows_eps_plugin(hostile, monkeypatch):
    from PIL import EpsImagePlugin

    from eqviz.errors import EqvizError
    from eqviz.metrics.fid.sources import ImageData
    from eqviz.projection.targets import load_target

    called = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: called.append("open"))
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: called.append("gs"))
    files, _ = hostile
    with pytest.raises(EqvizError, match="its content is PostScript"):
        load_target(files[("target", "PostScript named photo.png")][0], 64, 3)
    with pytest.raises(EqvizError, match="its content is PostScript"):
        ImageData(files[("fid_data", "zip member 000.png is PostScript")][0])
    assert called == []


CLI_CASES = [
    (("target", "PostScript named photo.png"), ["project", "{ckpt}", "--target", "{path}", "--steps", "1", "--out",
                                                 "{out}"]),
    (("target", "TIFF cut after 100 bytes (Pillow warns)"), ["project", "{ckpt}", "--target", "{path}", "--steps",
                                                              "1", "--out", "{out}"]),
    (("session", "named pipe"), ["render", "{ckpt}", "--session", "{path}", "--outdir", "{out}"]),
    (("session", "mix_range [0, 10^12]"), ["render", "{ckpt}", "--session", "{path}", "--outdir", "{out}"]),
    (("w", "header declaring 1.86 TiB"), ["render", "{ckpt}", "--w", "{path}", "--outdir", "{out}"]),
    (("directions", "rows of length 1e37"), ["render", "{ckpt}", "--seeds", "0", "--edit", "{path}:0=1", "--outdir",
                                             "{out}"]),
]


@pytest.mark.parametrize("case, argv", CLI_CASES, ids=lambda v: v[1] if isinstance(v, tuple) else None)
def test_the_cli_exits_2_in_one_line_and_writes_nothing(hostile, reference_dir, tmp_path, case, argv):
    files, _ = hostile
    out = tmp_path / "out"
    values = {"ckpt": str(reference_dir / "pkl" / "sg2_64.pkl"), "path": str(files[case][0]), "out": str(out)}
    proc = subprocess.run([sys.executable, "-m", "eqviz", *(a.format(**values) for a in argv)], capture_output=True,
                          text=True, timeout=MAX_SECONDS + 30, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr[-2000:]
    assert files[case][1] in proc.stderr
    assert not out.exists() or not any(out.rglob("*"))
