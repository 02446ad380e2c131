"""The GPU path verified end to end in one device run: every step reports pass/fail and the run goes on.

Steps (each a separate process with its own time limit; see STEPS):
  environment, pycuda + a trivial kernel, `pytest -m cuda`, float16 kernels (bench_fp16),
  whole synthesis kernels vs PyTorch (bench_gpu), video throughput against raw synthesis
  (bench_video), equivariance cost at 256² and 1024² (bench_equivariance), the app's frame renderer
  without a window against bare synthesis (bench_frame_renderer), and NVIDIA's own
  CUDA ops side by side with eqviz's (bench_nvidia_ops; NVIDIA's plugins are JIT-built in the
  background from the start, so their build overlaps the other steps).

Everything lands in OUT as three files (the device tool returns at most eight): gpu_check.json
(every step's status, time, output tail and the numbers its script wrote), gpu_check.md (a table)
and gpu_check.log (all output).

    python3 benchmarks/gpu_check.py --prepare            # here: gather what the device run carries
    bash benchmarks/gpu_check.sh                         # there, in one `run` (carry .whl .ffmpeg .nvlabs)
    bash benchmarks/gpu_check.sh --dry-run               # here, on the CPU: CPU-capable steps run,
                                                         # GPU steps print the command they would run
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NVIDIA_CHECKOUT = ROOT / ".nvlabs" / "stylegan3"   # torch_utils/ and dnnlib/ of NVlabs/stylegan3 (ignored)
WHEELS = ROOT / ".whl"                              # pycuda and its dependencies (ignored)
FFMPEG_XZ = ROOT / ".ffmpeg" / "ffmpeg.xz"          # imageio-ffmpeg's binary, xz-compressed (ignored)
PY = sys.executable


@dataclass
class Step:
    name: str
    command: list                 # run on the GPU machine
    timeout_s: int
    dry_command: list | None = None   # run on the CPU with --dry-run (None: printed only)
    json_name: str | None = None      # the script writes its numbers to this file in the work folder
    env: dict = field(default_factory=dict)


def steps(work: Path) -> list[Step]:
    """The run, in order; budget about 7 minutes of a 10-minute call, the NVIDIA build overlapping."""
    j = lambda name: str(work / name)  # noqa: E731
    return [
        Step("environment", [PY, "-c", ENV_PROBE], 60, dry_command=[PY, "-c", ENV_PROBE]),
        Step("pycuda", [PY, "-c", PYCUDA_PROBE], 60),
        Step("pytest -m cuda", [PY, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", "tests"], 150,
             dry_command=[PY, "-m", "pytest", "-q", "-m", "cuda", "--collect-only", "-p", "no:cacheprovider", "tests"]),
        Step("float16 kernels (1024², batch 1 and 8)", [PY, "benchmarks/bench_fp16.py", "--json", j("fp16.json")], 90,
             json_name="fp16.json"),
        Step("whole synthesis, kernels vs PyTorch (bench_gpu)", [PY, "benchmarks/bench_gpu.py", "--json", j("gpu.json")],
             150, json_name="gpu.json"),
        Step("video throughput vs raw synthesis", [PY, "benchmarks/bench_video.py", "--device", "cuda", "--repeats", "2"],
             90, dry_command=[PY, "benchmarks/bench_video.py", "--tiny", "--frames", "24", "--repeats", "1"]),
        Step("equivariance cost 256²", [PY, "benchmarks/bench_equivariance.py", "--device", "cuda", "--resolution", "256",
                                        "--channel-base", "32768", "--channel-max", "512"], 45,
             dry_command=[PY, "benchmarks/bench_equivariance.py", "--resolution", "64", "--channel-base", "2048",
                          "--channel-max", "64", "--repeats", "1"]),
        Step("equivariance cost 1024²", [PY, "benchmarks/bench_equivariance.py", "--device", "cuda", "--resolution",
                                         "1024", "--channel-base", "32768", "--channel-max", "512"], 60),
        Step("app frame renderer, no window (1024²)",
             [PY, "benchmarks/bench_frame_renderer.py", "--device", "cuda", "--json", j("frame_renderer.json")], 60,
             json_name="frame_renderer.json"),
        Step("NVIDIA's CUDA ops side by side (1024²)",
             [PY, "benchmarks/bench_nvidia_ops.py", "--nvidia-repo", str(NVIDIA_CHECKOUT), "--json", j("nvidia.json")],
             180, json_name="nvidia.json",
             dry_command=[PY, "benchmarks/bench_nvidia_ops.py", "--nvidia-repo", str(NVIDIA_CHECKOUT), "--device", "cpu",
                          "--res", "64", "--kinds", "stylegan3-t", "--batch", "1", "--reps", "1",
                          "--json", j("nvidia.json")]),
    ]


ENV_PROBE = """
import platform, subprocess, torch
print('python', platform.python_version(), 'torch', torch.__version__, 'cuda', torch.version.cuda)
print('gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')
try:
    print(subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
                         capture_output=True, text=True, timeout=20).stdout.strip())
except FileNotFoundError:
    print('nvidia-smi: not found')
from eqviz.cuda_ops.backend_status import describe_backend
print('eqviz backend:', describe_backend(torch.device('cuda' if torch.cuda.is_available() else 'cpu')))
"""

PYCUDA_PROBE = """
import torch
torch.zeros(1, device='cuda')
import pycuda.driver as cuda
print('pycuda', cuda.get_version(), 'driver', cuda.get_driver_version())
from eqviz.cuda_ops.bias_act import bias_act
x = torch.randn(4, 8, 16, 16, device='cuda')
b = torch.randn(8, device='cuda')
diff = (bias_act(x, b, act='lrelu', impl='cuda') - bias_act(x, b, act='lrelu', impl='ref')).abs().max().item()
print('bias_act cuda vs ref max diff', diff)
assert diff < 1e-5
"""

# NVIDIA's plugins take minutes to JIT-compile: started first, in the background, into the cache that
# bench_nvidia_ops then finds.
NVIDIA_BUILD = f"""
import sys, types
sys.path.insert(0, {str(NVIDIA_CHECKOUT)!r})
try:
    import pkg_resources
except ImportError:
    from packaging.version import parse
    sys.modules['pkg_resources'] = types.SimpleNamespace(parse_version=parse)
from torch_utils.ops import bias_act, filtered_lrelu, upfirdn2d
print('built', bias_act._init(), upfirdn2d._init(), filtered_lrelu._init())
"""


def run_step(step: Step, command: list, work: Path, log) -> dict:
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **step.env}
    log.write(f"\n===== {step.name}: {' '.join(command)}\n")
    log.flush()
    try:
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=step.timeout_s)
        output, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        rc = "timeout"
    log.write(output)
    log.flush()
    result = dict(name=step.name, command=" ".join(command), rc=rc, passed=rc == 0,
                  seconds=round(time.perf_counter() - t0, 1), tail=output[-2000:])
    if step.json_name and (work / step.json_name).is_file():
        result["numbers"] = json.loads((work / step.json_name).read_text())
    print(f"[{'pass' if result['passed'] else 'FAIL'}] {step.name} ({result['seconds']} s, rc {rc})", flush=True)
    return result


def markdown(results: list, header: str) -> str:
    lines = [header, "", "| step | result | seconds | last line |", "| :-- | :-- | --: | :-- |"]
    for r in results:
        status = "dry run: not run" if r.get("skipped") else ("pass" if r["passed"] else f"FAIL (rc {r['rc']})")
        last = next((ln for ln in reversed(r.get("tail", "").splitlines()) if ln.strip()), "")
        lines.append(f"| {r['name']} | {status} | {r.get('seconds', '')} | {last.replace('|', '/')[:120]} |")
    return "\n".join(lines) + "\n"


def prepare() -> int:
    """Here, before the device call: NVIDIA's ops, the pycuda wheels and ffmpeg into ignored folders."""
    mirror = Path("/work/.mirror/NVlabs+stylegan3/repo")
    if not NVIDIA_CHECKOUT.is_dir():
        if not mirror.is_dir():
            print(f"fetch NVlabs/stylegan3 first (the search tool's fetch); expected a mirror at {mirror}")
            return 2
        NVIDIA_CHECKOUT.mkdir(parents=True)
        archive = subprocess.run(["git", f"--git-dir={mirror}", "archive", "HEAD", "torch_utils", "dnnlib"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(NVIDIA_CHECKOUT)], input=archive, check=True)
    WHEELS.mkdir(exist_ok=True)
    for wheel in Path(ROOT.parent / "shared" / "gpu-wheels").glob("*.whl"):
        shutil.copy2(wheel, WHEELS / wheel.name)
    if not FFMPEG_XZ.is_file():
        FFMPEG_XZ.parent.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([PY, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", tmp,
                            "--platform", "manylinux2014_x86_64", "imageio-ffmpeg"], check=True)
            wheel = next(Path(tmp).glob("imageio_ffmpeg-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                binary = next(n for n in zf.namelist() if "/binaries/ffmpeg" in n)
                data = zf.read(binary)
            subprocess.run(["xz", "-6", "-T2"], input=data, stdout=FFMPEG_XZ.open("wb"), check=True)
    print(f"ready: {NVIDIA_CHECKOUT.relative_to(ROOT)}, {WHEELS.relative_to(ROOT)} "
          f"({len(list(WHEELS.glob('*.whl')))} wheels), {FFMPEG_XZ.relative_to(ROOT)} "
          f"({FFMPEG_XZ.stat().st_size / 2**20:.0f} MiB); carry [.nvlabs, .whl, .ffmpeg]")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="on the CPU: run what can run, print the rest")
    parser.add_argument("--prepare", action="store_true", help="gather the carried folders, then stop")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ROOT / "out" / "gpu_check")))
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    results = []
    with tempfile.TemporaryDirectory() as tmp, (args.out / "gpu_check.log").open("w") as log:
        work = Path(tmp)
        build = None
        if not args.dry_run and NVIDIA_CHECKOUT.is_dir():
            build = subprocess.Popen([PY, "-c", NVIDIA_BUILD], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        for step in steps(work):
            command = step.dry_command if args.dry_run else step.command
            if command is None:
                print(f"[dry run] {step.name} would run: {' '.join(step.command)}", flush=True)
                results.append(dict(name=step.name, command=" ".join(step.command), skipped=True))
                continue
            if step.name.startswith("NVIDIA") and build is not None:
                output, _ = build.communicate()
                log.write(f"\n===== NVIDIA plugin build (background)\n{output}")
            results.append(run_step(step, command, work, log))
    header = (f"# eqviz GPU check, {started}{' (dry run on the CPU)' if args.dry_run else ''}\n\n"
              f"host {platform.node()}, python {platform.python_version()}")
    (args.out / "gpu_check.json").write_text(json.dumps(dict(started=started, dry_run=args.dry_run, steps=results),
                                                        indent=1))
    (args.out / "gpu_check.md").write_text(markdown(results, header))
    print(f"results: {args.out}/gpu_check.md, .json, .log")
    return 0 if all(r.get("passed", True) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
