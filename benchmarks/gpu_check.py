"""The GPU path verified end to end in one device call: every step reports pass/fail and the run goes on.

Steps (each a separate process with its own time limit, all inside one overall budget; see `steps`),
in this order: environment; pycuda + a trivial kernel; float16 kernels against float32 (bench_fp16);
rotation and keyframe videos against raw synthesis at 256² and 1024² (bench_video); the app's frame
renderer against bare synthesis at 1024² (bench_frame_renderer); FID features at 256² and 1024² and a
fid50k_full estimate for a 1024² StyleGAN3-T (bench_fid); projection steps/s (bench_projection);
NVIDIA's own CUDA ops side by side with eqviz's (bench_nvidia_ops); `pytest -m cuda` (with NVIDIA's
reference data carried); whole synthesis kernels vs PyTorch (bench_gpu); the equivariance metric's
cost (bench_equivariance). NVIDIA's plugins are JIT-built in the background from the start, on their
own half of the cores while the steps run on the other half, so the build overlaps the other steps
without taking their CPU.

The steps run in order of what matters most (the bars first); a step that would start with too
little of the budget left is skipped and said so, and every result file is rewritten after every
step, so a run cut short still returns what it measured. Everything lands in OUT (the device tool
returns at most eight files): gpu_check.json (every step's status, time, output tail and numbers),
gpu_check.md (the step table), gpu_results.md (the results in benchmarks/gpu_results_*.md form,
to be saved there as gpu_results_<device>.md), gpu_check.log (all output) and nvidia_build.log.

    python3 benchmarks/gpu_check.py --prepare            # here: gather what the device call carries
    bash benchmarks/gpu_check.sh                         # there, in one `run` (carry .whl .ffmpeg .nvlabs .refdata)
    bash benchmarks/gpu_check.sh --dry-run               # here, on the CPU: every step with tiny sizes
"""
import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gpu_results import last_line, render_results, step_status

ROOT = Path(__file__).resolve().parents[1]
NVIDIA_CHECKOUT = ROOT / ".nvlabs" / "stylegan3"   # torch_utils/ and dnnlib/ of NVlabs/stylegan3 (ignored)
WHEELS = ROOT / ".whl"                              # pycuda and its dependencies (ignored)
FFMPEG_DIR = ROOT / ".ffmpeg"                       # ffmpeg.xz and imageio_ffmpeg's Python code (ignored)
FFMPEG_XZ = FFMPEG_DIR / "ffmpeg.xz"
REFERENCE_COPY = ROOT / ".refdata" / "reference"    # the part of NVIDIA's reference data the cuda tests read (ignored)
CARRY = [".whl", ".ffmpeg", ".nvlabs", ".refdata"]
PY = sys.executable
# imageio-ffmpeg 0.7.0's ffmpeg (7.0.2, libx264) is 20 MiB xz-compressed; 0.8's is 50 MiB, which leaves no room
# for the reference data under the device call's 64 MiB. eqviz drives either through IMAGEIO_FFMPEG_EXE.
FFMPEG_WHEEL = "imageio-ffmpeg==0.7.0"
REFERENCE_FILES = ["README.md", "golden/ops.json", "golden/ops.npz", "golden/sg2_64_render.json",
                   "golden/sg2_64_render.npz", "golden/sg3t_64_render.json", "golden/sg3t_64_render.npz",
                   "pkl/sg2_64.pkl", "pkl/sg3r_64.pkl", "pkl/sg3t_64.pkl"]
# Python packages eqviz imports that the GPU machine's image lacks and the run does not carry: a dry run
# hides them, so a step that would fail there for want of one fails here too.
ABSENT_ON_DEVICE = ["dearpygui"]
DEFAULT_BUDGET_S = 455   # of the 480-s device call (`run` timeout_s=480), from gpu_check.sh's start
DRY_RUN_BUDGET_S = 900
MIN_STEP_S = 10          # a step is skipped rather than started with less left
RESERVE_S = 5            # kept for writing the result files


@dataclass
class Step:
    name: str
    command: list                 # run on the GPU machine
    dry_command: list             # run on the CPU with --dry-run: the same script at tiny sizes
    timeout_s: int
    json_name: str | None = None  # the script writes its numbers to this file in the work folder
    needs_nvidia_build: bool = False


def bench(script: str, *args) -> list:
    return [PY, f"benchmarks/{script}", *map(str, args)]


def cuda_test_files() -> list:
    """The test files that hold `cuda`-marked tests: collecting the others would import Dear PyGui."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                  if "mark.cuda" in p.read_text(encoding="utf-8"))


def steps(work: Path) -> list[Step]:
    """The run, bars and new features first, then the cuda tests and the extras; expected about 6 minutes on an
    H100 (not yet run on one), the NVIDIA build overlapping the steps before its own."""
    j = lambda name: ["--json", str(work / name)]  # noqa: E731
    # addopts cleared: the carried wheels hold no pytest-xdist, and the cuda tests run in one process.
    pytest = [PY, "-m", "pytest", "-q", "-rs", "-m", "cuda", "-p", "no:cacheprovider", "-o", "addopts=", *cuda_test_files()]
    nvidia = ["--nvidia-repo", str(NVIDIA_CHECKOUT)]
    return [
        Step("environment", [PY, "-c", ENV_PROBE, str(work / "env.json")], [PY, "-c", ENV_PROBE, str(work / "env.json")],
             30, "env.json"),
        Step("pycuda + a trivial kernel", [PY, "-c", PYCUDA_PROBE], [PY, "-c", WHEELS_PROBE, str(WHEELS)], 30),
        Step("float16 kernels vs float32 (1024², batch 1 and 8)",
             bench("bench_fp16.py", *j("fp16.json")),
             bench("bench_fp16.py", "--device", "cpu", "--tiny", "--res", 64, "--batch", 1, 2, *j("fp16.json")),
             75, "fp16.json"),
        Step("video vs raw synthesis, rotation and keyframes MP4 (256², 1024²)",
             bench("bench_video.py", "--device", "cuda", "--sizes", 256, 1024, "--frames", 96, "--repeats", 2,
                   *j("video.json")),
             bench("bench_video.py", "--tiny", "--sizes", 64, "--frames", 16, "--repeats", 1, *j("video.json")),
             110, "video.json"),
        Step("app frame renderer vs bare synthesis (1024²)",
             bench("bench_frame_renderer.py", "--device", "cuda", "--res", 1024, *j("frame_renderer.json")),
             bench("bench_frame_renderer.py", "--tiny", "--res", 64, "--frames", 3, *j("frame_renderer.json")),
             50, "frame_renderer.json"),
        Step("FID features (256², 1024²) and fid50k_full estimate (StyleGAN3-T 1024²)",
             bench("bench_fid.py", "--device", "cuda", "--threads", 8, "--resolution", 256, 1024, "--batches", 32, 64,
                   "--estimate", *j("fid.json")),
             bench("bench_fid.py", "--resolution", 64, "--batches", 2, 4, "--repeats", 1, "--estimate", "--tiny",
                   "--estimate-res", 64, "--generated", 6, "--real", 6, "--estimate-batch", 2, *j("fid.json")),
             100, "fid.json"),
        Step("projection steps/s, StyleGAN2 1024²",
             bench("bench_projection.py", "--device", "cuda", "--res", 1024, "--configs", "stylegan2",
                   *j("projection_sg2.json")),
             bench("bench_projection.py", "--tiny", "--res", 64, "--configs", "stylegan2", "--steps", 3,
                   *j("projection_sg2.json")),
             60, "projection_sg2.json"),
        Step("projection steps/s, StyleGAN3-T 256²",
             bench("bench_projection.py", "--device", "cuda", "--res", 256, "--configs", "stylegan3-t",
                   *j("projection_sg3t.json")),
             bench("bench_projection.py", "--tiny", "--res", 64, "--configs", "stylegan3-t", "--steps", 3,
                   *j("projection_sg3t.json")),
             60, "projection_sg3t.json"),
        Step("eqviz kernels vs NVIDIA's CUDA ops (1024²)",
             bench("bench_nvidia_ops.py", *nvidia, *j("nvidia.json")),
             bench("bench_nvidia_ops.py", *nvidia, "--device", "cpu", "--tiny", "--res", 64, "--kinds", "stylegan3-t",
                   "stylegan3-r", "--batch", 1, "--reps", 1, "--budget-ms", 100, *j("nvidia.json")),
             120, "nvidia.json", needs_nvidia_build=True),
        Step("pytest -m cuda", pytest, pytest, 100),
        Step("whole synthesis, kernels vs PyTorch (256², 1024², batch 1)",
             bench("bench_gpu.py", "--res", 256, 1024, "--batch", 1, "--no-layers", *j("gpu.json")),
             bench("bench_gpu.py", "--device", "cpu", "--tiny", "--res", 64, "--batch", 1, "--no-layers",
                   *j("gpu.json")),
             60, "gpu.json"),
        *(Step(f"equivariance metric cost (StyleGAN3-T {res}²)",
               bench("bench_equivariance.py", "--device", "cuda", "--resolution", res, "--channel-base", 32768,
                     "--channel-max", 512, *j(f"equivariance_{res}.json")),
               bench("bench_equivariance.py", "--resolution", 64, "--channel-base", 1024, "--channel-max", 32,
                     "--repeats", 1, *j(f"equivariance_{res}.json")),
               timeout_s, f"equivariance_{res}.json") for res, timeout_s in ((256, 30), (1024, 40))),
    ]


ENV_PROBE = """
import json, os, platform, shutil, subprocess, sys, sysconfig, torch
def lines(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines() or ['']
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f'unavailable ({exc})']
from eqviz.cuda_ops.backend_status import describe_backend
import imageio_ffmpeg
gpu = torch.cuda.is_available()
env = dict(python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda, cpus=os.cpu_count(),
           gpu=torch.cuda.get_device_name(0) if gpu else 'none',
           nvidia_smi=lines(['nvidia-smi', '--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'])[0],
           nvcc=lines(['nvcc', '--version'])[-2:][0],
           ninja=shutil.which('ninja', path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', '')) or 'not on PATH',
           python_h=os.path.isfile(os.path.join(sysconfig.get_paths()['include'], 'Python.h')),
           ffmpeg=lines([imageio_ffmpeg.get_ffmpeg_exe(), '-version'])[0].split(' Copyright')[0],
           backend=describe_backend(torch.device('cuda' if gpu else 'cpu')))
for k, v in env.items():
    print(f'{k}: {v}')
json.dump(env, open(sys.argv[1], 'w'), indent=1)
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

# The dry run's stand-in for the pycuda probe: the carried wheels install on CPython 3.12 x86-64 and
# carry everything they require (numpy is on the GPU machine).
WHEELS_PROBE = """
import re, sys, zipfile
from pathlib import Path
wheels = sorted(Path(sys.argv[1]).glob('*.whl'))
assert wheels, f'no wheels in {sys.argv[1]}: run gpu_check.py --prepare'
norm = lambda name: re.sub(r'[-_.]+', '-', name).lower()
have, needed = {norm(w.name.split('-')[0]) for w in wheels}, set()
for w in wheels:
    tags = w.name[:-4].split('-')[-3:]
    assert tags[0] in ('py3', 'cp312') and (tags[2] == 'any' or 'x86_64' in tags[2]), f'{w.name} does not install on CPython 3.12 x86-64'
    meta = next(n for n in zipfile.ZipFile(w).namelist() if n.endswith('.dist-info/METADATA'))
    for line in zipfile.ZipFile(w).read(meta).decode().splitlines():
        if line.startswith('Requires-Dist:') and 'extra ==' not in line:
            needed.add(norm(re.split(r'[ ;<>=!~\\[(]', line.split(':', 1)[1].strip())[0]))
missing = needed - have - {'numpy'}
print(f'{len(wheels)} wheels:', ', '.join(w.name for w in wheels))
assert not missing, f'required but not carried: {sorted(missing)}'
print('every requirement is carried (numpy is on the GPU machine)')
"""

# NVIDIA's plugins take minutes to JIT-compile: started first, in the background, into the cache that
# bench_nvidia_ops then finds. The dry run only imports them (there is no nvcc to build with).
NVIDIA_BUILD = f"""
import sys, time, types
sys.path.insert(0, {str(NVIDIA_CHECKOUT)!r})
try:
    import pkg_resources
except ImportError:
    from packaging.version import parse
    sys.modules['pkg_resources'] = types.SimpleNamespace(parse_version=parse)
from torch_utils.ops import bias_act, filtered_lrelu, upfirdn2d
if '--import-only' in sys.argv:
    print('imported NVIDIA ops from', {str(NVIDIA_CHECKOUT)!r})
else:
    t0 = time.perf_counter()
    print('built', bias_act._init(), upfirdn2d._init(), filtered_lrelu._init(), f'in {{time.perf_counter() - t0:.0f}} s')
"""


def core_split() -> tuple[set, set]:
    """(steps' cores, the NVIDIA build's cores): halves of this machine, or all cores for both when it has few."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 8:
        return set(cores), set(cores)
    half = len(cores) // 2
    return set(cores[:half]), set(cores[half:])


def pin(proc: subprocess.Popen, cores: set) -> None:
    """Keeps a just-started process (and the threads and children it starts later) on `cores`."""
    try:
        os.sched_setaffinity(proc.pid, cores)
    except ProcessLookupError:  # already gone: its exit status tells
        pass


@dataclass
class Run:
    """One gpu_check run: where it writes, its deadline, the background build."""

    out: Path
    work: Path
    dry_run: bool
    deadline: float
    env: dict
    log: object = None
    build: subprocess.Popen | None = None
    build_started: float = 0.0
    build_finished: float | None = None
    steps_cores: set = field(default_factory=set)
    results: list = field(default_factory=list)

    def left_s(self) -> float:
        return self.deadline - time.time() - RESERVE_S

    def start_build(self) -> None:
        """NVIDIA's plugins, built (on the GPU) or imported (dry run) in the background on their own cores."""
        steps_cores, build_cores = core_split()
        env = dict(self.env, MAX_JOBS=str(len(build_cores)),
                   PATH=f"{Path(PY).parent}{os.pathsep}{self.env.get('PATH', '')}")  # ninja beside python
        command = [PY, "-c", NVIDIA_BUILD] + (["--import-only"] if self.dry_run else [])
        self.build_started = time.time()
        self.build = subprocess.Popen(command, cwd=ROOT, env=env, stdout=(self.out / "nvidia_build.log").open("w"),
                                      stderr=subprocess.STDOUT, start_new_session=True)
        pin(self.build, build_cores)
        self.steps_cores = steps_cores
        threading.Thread(target=self.note_build_end, daemon=True).start()

    def note_build_end(self) -> None:
        self.build.wait()
        self.build_finished = time.time()

    def build_result(self, wait_s: float) -> dict:
        """The build's step record, waiting up to wait_s for it to finish."""
        try:
            rc = self.build.wait(timeout=max(wait_s, 0))
        except subprocess.TimeoutExpired:
            rc = "still building"
        output = (self.out / "nvidia_build.log").read_text(errors="replace")
        return dict(name="NVIDIA plugins JIT build (background)" + (" [import only]" if self.dry_run else ""),
                    command="python3 -c NVIDIA_BUILD", rc=rc, passed=rc == 0,
                    seconds=round((self.build_finished or time.time()) - self.build_started, 1), tail=output[-2000:])

    def run_step(self, step: Step) -> dict:
        command = step.dry_command if self.dry_run else step.command
        record = dict(name=step.name, command=" ".join(command))
        if step.needs_nvidia_build:
            build = self.build_result(self.left_s() - MIN_STEP_S)
            self.results.append(build)
            self.report(build)
            if not build["passed"]:
                return dict(record, rc="skipped", passed=False, seconds=0.0,
                            tail=f"NVIDIA's plugins did not build ({build['rc']}); see nvidia_build.log")
        if self.left_s() < MIN_STEP_S:
            return dict(record, rc="skipped", passed=False, seconds=0.0, tail=f"no time left ({self.left_s():.0f} s)")
        timeout = min(step.timeout_s, self.left_s())
        # While NVIDIA's build runs, steps keep off its cores so their timings are not disturbed.
        cores = self.steps_cores if self.build.poll() is None else os.sched_getaffinity(0)
        self.log.write(f"\n===== {step.name}: {record['command']}\n")
        self.log.flush()
        start_offset = self.log.tell()
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        pin(proc, cores)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the step and its children (ffmpeg encoders)
            proc.wait()
            rc = f"timeout after {timeout:.0f} s"
        self.log.flush()
        with open(self.log.name, errors="replace") as fh:
            fh.seek(start_offset)
            output = fh.read()
        record.update(rc=rc, passed=rc == 0, seconds=round(time.perf_counter() - t0, 1), tail=output[-2000:])
        numbers = self.work / step.json_name if step.json_name else None
        if numbers is not None and numbers.is_file():
            try:
                record["numbers"] = json.loads(numbers.read_text())
            except ValueError as exc:  # cut off mid-write: the step's output still tells
                record["numbers_error"] = str(exc)
        return record

    def report(self, record: dict) -> None:
        print(f"[{step_status(record)}] {record['name']} ({record['seconds']} s): {last_line(record)[:160]}", flush=True)

    def write(self, started: str, header: dict) -> None:
        """Every result file, rewritten whole (atomically) after each step."""
        check = dict(started=started, dry_run=self.dry_run, header=header, steps=self.results)
        write_atomic(self.out / "gpu_check.json", json.dumps(check, indent=1))
        write_atomic(self.out / "gpu_check.md", step_table(check))
        write_atomic(self.out / "gpu_results.md", render_results(check))


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    tmp.replace(path)


def step_table(check: dict) -> str:
    lines = [f"# eqviz GPU check, {check['started']}{' (dry run on the CPU)' if check['dry_run'] else ''}", "",
             f"host {check['header']['host']}, python {check['header']['python']}, "
             f"budget {check['header']['budget_s']} s", "",
             "| step | result | seconds | last line |", "| :-- | :-- | --: | :-- |"]
    for r in check["steps"]:
        lines.append(f"| {r['name']} | {step_status(r)} | {r['seconds']} | {last_line(r).replace('|', '/')[:120]} |")
    return "\n".join(lines) + "\n"


def shared_folder() -> Path:
    """The shared folder beside the checkouts: the parent of NVIDIA's reference data (EQVIZ_REFERENCE)."""
    return Path(os.environ.get("EQVIZ_REFERENCE", ROOT.parent / "shared" / "reference")).resolve().parent


def prepare() -> int:
    """Here, before the device call: NVIDIA's ops, the pycuda wheels, ffmpeg and the reference data into ignored folders."""
    mirror = Path("/work/.mirror/NVlabs+stylegan3/repo")
    if not NVIDIA_CHECKOUT.is_dir():
        if not mirror.is_dir():
            print(f"fetch NVlabs/stylegan3 first (the search tool's fetch); expected a mirror at {mirror}")
            return 2
        NVIDIA_CHECKOUT.mkdir(parents=True)
        archive = subprocess.run(["git", f"--git-dir={mirror}", "archive", "HEAD", "torch_utils", "dnnlib"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(NVIDIA_CHECKOUT)], input=archive, check=True)
    shared = shared_folder()
    wheels = sorted((shared / "gpu-wheels").glob("*.whl"))
    reference = shared / "reference"
    if not wheels or not (reference / "README.md").is_file():
        print(f"expected the pycuda wheels in {shared / 'gpu-wheels'} and NVIDIA's reference data in {reference} "
              f"(set EQVIZ_REFERENCE to the reference folder)")
        return 2
    WHEELS.mkdir(exist_ok=True)
    for wheel in wheels:
        shutil.copy2(wheel, WHEELS / wheel.name)
    for name in REFERENCE_FILES:
        (REFERENCE_COPY / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(reference / name, REFERENCE_COPY / name)
    if not FFMPEG_XZ.is_file() or not (FFMPEG_DIR / "site" / "imageio_ffmpeg").is_dir():
        fetch_ffmpeg()
    sizes = {name: sum(f.stat().st_size for f in (ROOT / name).rglob("*") if f.is_file()) for name in CARRY}
    print(", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in sizes.items())
          + f"; carry {json.dumps(CARRY)} (the tree and these travel within 64 MiB)")
    return 0


def fetch_ffmpeg() -> None:
    """imageio-ffmpeg's Linux binary, xz-compressed, and its Python code (the GPU machine has neither)."""
    FFMPEG_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([PY, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", tmp,
                        "--platform", "manylinux2014_x86_64", FFMPEG_WHEEL], check=True)
        wheel = next(Path(tmp).glob("imageio_ffmpeg-*.whl"))
        site = FFMPEG_DIR / "site"
        shutil.rmtree(site, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            binary = next(n for n in zf.namelist() if "/binaries/ffmpeg" in n)
            data = zf.read(binary)
            for name in zf.namelist():
                if name.startswith("imageio_ffmpeg/") and name.endswith(".py"):
                    zf.extract(name, site)
        with FFMPEG_XZ.open("wb") as fh:
            subprocess.run(["xz", "-6", "-T2"], input=data, stdout=fh, check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="on the CPU: every step at tiny sizes")
    parser.add_argument("--prepare", action="store_true", help="gather the carried folders, then stop")
    parser.add_argument("--budget-s", type=float,
                        help=f"seconds for the whole run, counted from gpu_check.sh's start ($GPU_CHECK_STARTED); "
                             f"default {DEFAULT_BUDGET_S}, {DRY_RUN_BUDGET_S} for a dry run (a shared CPU is slow)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ROOT / "out" / "gpu_check")))
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare()
    if args.budget_s is None:
        args.budget_s = DRY_RUN_BUDGET_S if args.dry_run else DEFAULT_BUDGET_S
    args.out.mkdir(parents=True, exist_ok=True)
    started_at = float(os.environ.get("GPU_CHECK_STARTED", time.time()))
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started_at))
    header = dict(host=platform.node(), python=platform.python_version(), budget_s=args.budget_s,
                  command="bash benchmarks/gpu_check.sh" + (" --dry-run" if args.dry_run else ""))
    with tempfile.TemporaryDirectory() as tmp, (args.out / "gpu_check.log").open("w") as log:
        work = Path(tmp)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if args.dry_run:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hide_absent_packages(work)), env.get("PYTHONPATH")]))
        run = Run(out=args.out, work=work, dry_run=args.dry_run, deadline=started_at + args.budget_s, env=env, log=log)
        run.start_build()
        try:
            queue, deferred = steps(work), set()
            while queue:
                step = queue.pop(0)
                if step.needs_nvidia_build and run.build.poll() is None and queue and step.name not in deferred:
                    deferred.add(step.name)  # NVIDIA's build is not done: the other steps first, this one last
                    queue.append(step)
                    continue
                record = run.run_step(step)
                run.results.append(record)
                run.report(record)
                run.write(started, header)
            if not any(r["name"].startswith("NVIDIA plugins") for r in run.results):
                run.results.append(run.build_result(0))
        finally:
            if run.build.poll() is None:
                os.killpg(run.build.pid, signal.SIGKILL)
            run.write(started, header)
    print(f"results: {args.out}/gpu_results.md, gpu_check.md, .json, .log "
          f"({time.time() - started_at:.0f} s of {args.budget_s:.0f})")
    return 0 if all(r["passed"] for r in run.results) else 1


def hide_absent_packages(work: Path) -> Path:
    """A folder that, first on PYTHONPATH, makes the packages missing on the GPU machine fail to import."""
    folder = work / "absent-on-device"
    for name in ABSENT_ON_DEVICE:
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "__init__.py").write_text(
            f"raise ImportError('{name} is not on the GPU machine (gpu_check --dry-run hides it)')\n")
    return folder


if __name__ == "__main__":
    sys.exit(main())
