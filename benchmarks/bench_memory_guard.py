"""Does the memory guard tell the truth? Its estimate against the measured peak RSS of `eqviz render`.

For every reference checkpoint and for NVIDIA's full-capacity StyleGAN2 (config-f), StyleGAN3-T and
StyleGAN3-R (doubled capacity) at 256² and 1024² (random weights, saved as .safetensors), a fresh
process runs `eqviz render CKPT --seeds 0` (load, one frame, PNG) and its peak resident size is read
with getrusage. The guard's estimate is what `eqviz.networks.sizing` charges the same file
(`generator_memory(config).peak_bytes(file size)`). The guard must stay within 1.5x of the measurement either way: above it, it refuses what
fits; below it, it lets through what does not.

    python3 benchmarks/bench_memory_guard.py                 # references and 256² (minutes)
    python3 benchmarks/bench_memory_guard.py --res 256 1024  # adds 1024² (about 15 min on 2 cores)
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_synthesis import CONFIGS, make_config  # noqa: E402

REFERENCE = Path(os.environ.get("EQVIZ_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "reference"))
MAX_RATIO = 1.5

PEAK_OF_CHILD = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def measured_peak(checkpoint: Path, outdir: Path, threads: int, conditional: bool = False) -> int:
    """Peak RSS in bytes of `eqviz render CHECKPOINT --seeds 0` in a fresh process."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    render = [sys.executable, "-m", "eqviz", "render", str(checkpoint), "--seeds", "0", "--outdir", str(outdir),
              "--overwrite", "--max-memory", "1T", *(["--class", "0"] if conditional else [])]
    out = subprocess.run([sys.executable, "-c", PEAK_OF_CHILD, *render], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"eqviz render {checkpoint} failed (exit {out[0]})")
    return int(out[1])


def guard_estimate(checkpoint: Path):
    """(the guard's peak estimate in bytes, whether the model is conditional) for a checkpoint file."""
    from eqviz.networks import load_generator
    from eqviz.networks.sizing import generator_memory

    config = load_generator(checkpoint, max_memory=10**13).config
    return generator_memory(config).peak_bytes(checkpoint.stat().st_size), config.c_dim > 0


def saved_full_capacity(kind: str, res: int, folder: Path) -> Path:
    import torch

    from eqviz.networks.build import build_generator
    from eqviz.networks.checkpoints.safe_format import save_generator

    path = folder / f"{kind}_{res}.safetensors"
    if not path.exists():
        torch.manual_seed(0)
        save_generator(build_generator(make_config(kind, res)), path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, nargs="+", default=[256], help="full-capacity resolutions (256, 1024)")
    parser.add_argument("--threads", type=int, default=2, help="OpenMP threads of each render (default 2)")
    args = parser.parse_args()

    cases = [(p.stem, p) for p in sorted((REFERENCE / "pkl").glob("*.pkl"))]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases += [(f"{kind} {res}²", saved_full_capacity(kind, res, tmp)) for res in args.res for kind in CONFIGS]
        print(f"{'checkpoint':<18} {'estimate':>10} {'peak RSS':>10} {'ratio':>7}")
        worst = 1.0
        for name, path in cases:
            guess, conditional = guard_estimate(path)
            peak = measured_peak(path, tmp / "out", args.threads, conditional)
            ratio = guess / peak
            worst = max(worst, ratio, 1 / ratio)
            print(f"{name:<18} {guess / 1e6:>8.0f} MB {peak / 1e6:>7.0f} MB {ratio:>7.2f}", flush=True)
    print(f"worst ratio either way: {worst:.2f} (bound {MAX_RATIO})")
    return 0 if worst <= MAX_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
