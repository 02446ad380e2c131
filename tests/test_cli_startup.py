"""Commands check their arguments before torch is imported: --help, a missing file or a bad seed list
answer at once; a misspelt command is not opened as a checkpoint; --version and the package agree."""
import subprocess
import sys

import pytest

# Runs `eqviz ARGS` in a fresh interpreter and reports, at exit, its own peak memory and which heavy
# packages were ever imported. The peak is the process's VmHWM: ru_maxrss keeps the forking test
# process's peak across exec, and RUSAGE_CHILDREN in the test would count every earlier child.
HEAVY = ("torch", "numpy", "PIL", "tqdm", "urllib.request")  # 0.05-5 s each; none needed to read arguments
PROBE = """
import atexit, re, sys
def report():
    peak = re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read()).group(1)
    heavy = [name for name in %r if name in sys.modules]
    sys.stderr.write("\\nPEAK-KB=%%s IMPORTED=%%s\\n" %% (peak, ",".join(heavy)))
atexit.register(report)
from eqviz.cli.main import main
sys.exit(main(sys.argv[1:]))
""" % (HEAVY,)


def eqviz_probe_details(*args, cwd=None):
    """(exit code, stdout, stderr, the HEAVY packages it imported, peak resident memory in kB) of `eqviz ARGS`."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    err, _, report = proc.stderr.rpartition("PEAK-KB=")
    peak, _, imported = report.partition(" IMPORTED=")
    return proc.returncode, proc.stdout, err.strip(), set(filter(None, imported.strip().split(","))), int(peak)


def eqviz_probe(*args, cwd=None):
    """(exit code, stdout, stderr, whether torch was imported) of `eqviz ARGS`."""
    code, out, err, imported, _ = eqviz_probe_details(*args, cwd=cwd)
    return code, out, err, "torch" in imported


@pytest.mark.parametrize("args", [
    ["--help"],
    ["render", "--help"],
    ["video", "--help"],
    ["sticking", "--help"],
    ["metrics", "--help"],
    ["--version"],
])
def test_help_never_imports_torch(args):
    code, out, err, torch_imported = eqviz_probe(*args)
    assert code == 0, err
    assert out.startswith(("usage: eqviz", "eqviz "))
    assert not torch_imported


@pytest.mark.parametrize("args", [
    ["--help"],
    ["video", "--help"],
    ["info", "MISSING.pkl"],
    ["render", "MISSING.pkl", "--seeds", "0-3", "--outdir", "out"],
    ["video", "MISSING.pkl", "--out", "v.mp4"],
])
def test_help_and_a_missing_file_import_no_heavy_package(args, tmp_path):
    """What makes them answer at once (0.1-0.2 s of CPU, benchmarks/bench_cli_startup.py): not torch,
    and not numpy, Pillow, tqdm or urllib's HTTP stack either (0.4 s more of imports together)."""
    code, _, _, imported, _ = eqviz_probe_details(*args, cwd=tmp_path)
    assert code in (0, 2)
    assert not imported


@pytest.mark.parametrize("args, flag, words", [
    (["info", "MISSING.pkl"], "", "checkpoint MISSING.pkl does not exist"),
    (["info", "stylegan3-t-ffhq-256x256"], "", "did you mean stylegan3-t-ffhqu-256x256?"),
    (["render", "stylegan2-ffhq-1024x1042.pkl", "--seeds", "0", "--outdir", "{tmp}/out"], "",
     "did you mean stylegan2-ffhq-1024x1024?"),
    (["render", "{ckpt}", "--seeds", "1-x", "--outdir", "{tmp}/out"], "--seeds", "cannot read seeds '1-x'"),
    (["render", "{ckpt}", "--seeds", "-1", "--outdir", "{tmp}/out"], "--seeds", "-1 is out of range"),
    (["render", "{ckpt}", "--seeds", "4294967296", "--outdir", "{tmp}/out"], "--seeds", "4294967296 is out of range"),
    (["render", "{ckpt}", "--seeds", "0", "--psi", "nan", "--outdir", "{tmp}/out"], "--psi",
     "must be a finite number, got nan"),
    (["render", "{ckpt}", "--seeds", "0", "--rotate", "1e308", "--outdir", "{tmp}/out"], "--rotate", "must be within"),
    (["render", "{ckpt}", "--seeds", "0", "--edit", "{ckpt}:0=1e9", "--outdir", "{tmp}/out"], "--edit",
     "strength 1e+09 of direction 0 is outside +-1000"),
    (["render", "{ckpt}", "--seeds", "0", "--w", "{ckpt}", "--outdir", "{tmp}/out"], "--seeds",
     "a W file (--w) replaces the seed"),
    (["video", "{ckpt}", "--seeds", "0-100000000", "--out", "{tmp}/v.mp4"], "--seeds", "100,000,001 grid cells"),
    (["video", "{ckpt}", "--size", "30000", "--out", "{tmp}/v.mp4"], "--size", "outside 8 to 4096"),
    (["video", "{ckpt}", "--grid", "400x251", "--out", "{tmp}/v.mp4"], "--grid", "100,400 grid cells"),
    (["video", "{ckpt}", "--frames", "0", "--out", "{tmp}/v.mp4"], "--frames", "at least one frame, got 0"),
    (["video", "{ckpt}", "--motion", "walk", "--seeds", "0-100000000", "--out", "{tmp}/v.mp4"], "--seeds",
     "100,000,001 seeds are more than the 65,536 keyframes a walk may have"),
    (["video", "{ckpt}", "--duration", "-1", "--out", "{tmp}/v.mp4"], "--duration", "must be positive, got -1.0"),
    (["video", "{ckpt}", "--motion", "bogus", "--out", "{tmp}/v.mp4"], "--motion", "unknown motion bogus"),
    (["video", "{ckpt}", "--crf", "99", "--out", "{tmp}/v.mp4"], "--crf", "99 is out of range"),
    (["sticking", "{ckpt}", "--seeds", "0", "--crf", "99", "--outdir", "{tmp}/st"], "--crf", "99 is out of range"),
    (["metrics", "{ckpt}", "--num-samples", "1000000000000"], "--num-samples", "1,000,000,000,000 samples"),
    (["sticking", "{ckpt}", "--seeds", "0-100000000", "--outdir", "{tmp}/st"], "--seeds",
     "100,000,001 seeds are more than the 1,024"),
    (["project", "{ckpt}", "--target", "{ckpt}", "--steps", "1000000000000", "--out", "{tmp}/p"], "--steps",
     "1,000,000,000,000 optimisation steps is outside 1 to 100,000"),
    (["project", "{ckpt}", "--target", "{ckpt}", "--steps", "0", "--out", "{tmp}/p"], "--steps",
     "0 optimisation steps is outside 1 to 100,000"),
    (["directions", "{ckpt}", "--method", "ganspace", "--num-samples", "1000000000000", "--out", "{tmp}/d.npz"],
     "--num-samples", "1,000,000,000,000 samples is outside"),
    (["metrics", "{ckpt}", "--metrics", "fid"], "--data", "give a dataset zip or an image folder"),
    (["metrics", "{ckpt}", "--metrics", "kid", "--data", "{tmp}", "--num-samples", "1000000"], "--num-samples",
     "KID keeps every image's Inception features (8 kB each), so 1,000,000 images are more than the 200,000"),
    (["fid", "{tmp}", "{ckpt}", "--metrics", "fid,kid", "--num-real", "300000"], "--num-real", "more than the 200,000"),
    (["compare", "{ckpt}", "--data", "{tmp}", "--num-samples", "500000", "--out", "{tmp}/r"], "--num-samples",
     "more than the 200,000"),
    (["fid", "{tmp}", "{ckpt}", "--metrics", "eqr"], "--metrics", "unknown metric eqr"),
    (["sheet", "{ckpt}", "--directions", "{ckpt}", "--seeds", "0-9999", "--out", "{tmp}/s.png"], "--seeds",
     "images (directions x seeds x steps)"),
    (["sheet", "{ckpt}", "--directions", "{ckpt}", "--out", "{tmp}/s.jpg"], "--out", "a sheet is written as PNG"),
    (["sheet", "{ckpt}", "--directions", "{ckpt}", "--psi", "inf", "--out", "{tmp}/s.png"], "--psi",
     "must be a finite number, got inf"),
])
def test_bad_arguments_are_refused_before_torch_in_one_line(args, flag, words, tmp_path):
    ckpt = tmp_path / "model.pkl"
    ckpt.write_bytes(b"not read: the arguments are refused first")
    code, _, err, torch_imported = eqviz_probe(*[a.format(ckpt=ckpt, tmp=tmp_path) for a in args])
    assert code == 2
    assert err.count("\n") == 0 and "error: " + flag in err and words in err, err
    assert not torch_imported


def test_a_misspelt_command_is_named_not_opened_as_a_checkpoint(tmp_path):
    code, _, err, torch_imported = eqviz_probe("rendr", "ckpt.pkl", "--seeds", "0", cwd=tmp_path)
    assert code == 2 and "unknown command 'rendr'; did you mean render?" in err
    assert not torch_imported


def test_version_is_the_package_version():
    import eqviz
    from importlib.metadata import version

    code, out, _, _ = eqviz_probe("--version")
    assert code == 0 and out.strip() == f"eqviz {eqviz.__version__}"
    assert version("eqviz") == eqviz.__version__


def test_a_bad_session_file_is_named_as_the_session_before_anything_is_loaded(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"never read")
    (tmp_path / "s.json").write_text('{"format": "eqviz-session/1", "psi": 1e308}')
    code, _, err, torch_imported = eqviz_probe("render", tmp_path / "m.pkl", "--session", tmp_path / "s.json",
                                               "--seeds", "0", "--outdir", tmp_path / "out")
    assert code == 2 and not torch_imported
    assert err == "eqviz render: error: --session field psi must be within +-100, got 1e+308", err


def test_an_earlier_projection_is_found_before_anything_is_loaded(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"never read")
    (tmp_path / "a.png").write_bytes(b"never read either")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "proj.png").write_bytes(b"an earlier projection")
    code, _, err, torch_imported = eqviz_probe("project", tmp_path / "m.pkl", "--target", tmp_path / "a.png",
                                               "--out", tmp_path / "proj")
    assert code == 2 and not torch_imported
    assert err.endswith(f"--out: {tmp_path / 'proj' / 'proj.png'} already exists; pass --overwrite to replace it, or "
                        "choose another folder"), err
    assert (tmp_path / "proj" / "proj.png").read_bytes() == b"an earlier projection"


def test_a_hundred_million_seeds_are_checked_against_the_folder_without_being_expanded(tmp_path):
    import time

    (tmp_path / "m.pkl").write_bytes(b"never read")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "seed50000000.png").write_bytes(b"an earlier render")
    start = time.perf_counter()
    code, _, err, imported, peak_kb = eqviz_probe_details("render", tmp_path / "m.pkl", "--seeds", "0-100000000",
                                                          "--outdir", tmp_path / "out")
    assert code == 2 and "seed50000000.png already exists" in err and "torch" not in imported
    assert time.perf_counter() - start < 30
    assert peak_kb < 200_000  # far below a list of 10^8 seeds (several GB)
