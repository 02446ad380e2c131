"""Loading time of real checkpoints, this checkout against an earlier commit, in the same run.

    python3 benchmarks/bench_loading.py                        # the 64-px references and a 256² snapshot
    python3 benchmarks/bench_loading.py --baseline 11b35b1 --rounds 7 --no-full

The baseline commit is unpacked with `git archive` into a temporary folder laid out as the
installed `eqviz` namespace and imported from there (PYTHONPATH first). Each round times
`load_generator` in a fresh process for the baseline and for this checkout, alternately, one torch
thread each; each process reports the best of `--repeats` loads after a warm-up (process CPU time,
which a busy shared machine disturbs far less than wall time, and wall time) and its peak RSS.
The ratio columns are medians over rounds of this checkout's time over the baseline's.

The full-capacity 256² StyleGAN3-T snapshot (NVIDIA's layout: persistent modules, tensors as
`_load_from_bytes` storages, ~100 MB) is written with random weights to the temporary folder.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

TIMER = r"""
import resource, sys, time, torch
torch.set_num_threads(1)
from eqviz.networks.checkpoints.loading import load_generator
path, repeats = sys.argv[1], int(sys.argv[2])
load_generator(path)
cpu, wall = [], []
for _ in range(repeats):
    start, start_cpu = time.perf_counter(), time.process_time()
    load_generator(path)
    cpu.append(time.process_time() - start_cpu)
    wall.append(time.perf_counter() - start)
print(min(cpu), min(wall), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""

# Checkout folder -> where the installed namespace has it (setup.py's ROOTS).
LAYOUT = (("visualizer", "eqviz"), ("networks", "eqviz/networks"), ("cuda_ops", "eqviz/cuda_ops"),
          ("assets", "eqviz/assets"))


def unpack_commit(rev: str, into: Path) -> Path:
    """`rev`'s packages under `into`/pkg, importable as eqviz."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, *(folder for folder, _ in LAYOUT)],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for folder, target in LAYOUT:
        (into / "pkg" / target).parent.mkdir(parents=True, exist_ok=True)
        (into / folder).rename(into / "pkg" / target)
    return into / "pkg"


def write_full_snapshot(path: Path) -> None:
    """A StyleGAN3-T 256² at NVIDIA's capacity, pickled in NVIDIA's layout (random weights)."""
    import collections
    import pickle

    import torch
    from checkpoint_pickles import Persistent, dumps

    from eqviz.networks.build import build_generator
    from eqviz.networks.config import StyleGAN3Config

    kwargs = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3, channel_base=32768,
                  channel_max=512, magnitude_ema_beta=0.999)
    G = build_generator(StyleGAN3Config(**kwargs))

    def persistent(module, init_kwargs=None):
        state = {
            "training": False,
            "_parameters": collections.OrderedDict(module._parameters),
            "_buffers": collections.OrderedDict(module._buffers),
            "_non_persistent_buffers_set": set(),
            "_modules": collections.OrderedDict((name, persistent(child)) for name, child in module._modules.items()),
        }
        if init_kwargs is not None:
            state.update(_init_args=(), _init_kwargs=dict(init_kwargs, mapping_kwargs={"num_layers": 2}))
        return Persistent(type(module).__name__, state)

    path.write_bytes(dumps({"G_ema": persistent(G, kwargs)}, protocol=pickle.DEFAULT_PROTOCOL))


def time_once(pythonpath: str | None, checkpoint: Path, repeats: int) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, peak RSS bytes) of the best of `repeats` loads in a fresh process."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", TIMER, str(checkpoint), str(repeats)], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="11b35b1", help="commit to compare against (default: the layout "
                        "commit before the checkpoint-safety work)")
    parser.add_argument("--reference", default=os.environ.get("EQVIZ_REFERENCE", str(REPO.parent / "shared" / "reference")))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="loads per process (best one counts)")
    parser.add_argument("--no-full", action="store_true", help="skip the full-capacity 256² snapshot")
    parser.add_argument("--write-full-snapshot", metavar="PATH", help="only write the 256² snapshot to PATH")
    args = parser.parse_args()
    if args.write_full_snapshot:
        write_full_snapshot(Path(args.write_full_snapshot))
        return

    with tempfile.TemporaryDirectory(prefix="eqviz-bench-loading-") as tmp:
        tmp = Path(tmp)
        baseline = str(unpack_commit(args.baseline, tmp))
        checkpoints = [Path(args.reference) / "pkl" / f"{name}.pkl" for name in ("sg3t_64", "sg2_64", "sg3r_64")]
        if not args.no_full:
            # In a separate process: children forked from one holding torch and a 23M-parameter model
            # would report its memory as their own peak (ru_maxrss survives exec).
            checkpoints.append(tmp / "sg3t_256_full.pkl")
            subprocess.run([sys.executable, __file__, "--write-full-snapshot", str(checkpoints[-1])], check=True)
        print(f"baseline {args.baseline} vs this checkout; {args.rounds} rounds, best of {args.repeats} loads, 1 thread")
        print(f"{'checkpoint':20} {'MB':>6} {'CPU ms base':>12} {'now':>7} {'now/base':>9} {'wall ms base':>13} {'now':>7} "
              f"{'now/base':>9} {'peak RSS MB base / now':>23}")
        for checkpoint in checkpoints:
            rows = []
            for _ in range(args.rounds):
                rows.append((*time_once(baseline, checkpoint, args.repeats), *time_once(None, checkpoint, args.repeats)))
            cpu_b, wall_b, rss_b, cpu_n, wall_n, rss_n = (statistics.median(column) for column in zip(*rows))
            cpu_ratio = statistics.median(r[3] / r[0] for r in rows)
            wall_ratio = statistics.median(r[4] / r[1] for r in rows)
            print(f"{checkpoint.name:20} {checkpoint.stat().st_size / 1e6:6.1f} {cpu_b * 1e3:12.1f} {cpu_n * 1e3:7.1f} "
                  f"{cpu_ratio:9.3f} {wall_b * 1e3:13.1f} {wall_n * 1e3:7.1f} {wall_ratio:9.3f} "
                  f"{rss_b / 1e6:14.0f} / {rss_n / 1e6:.0f}")


if __name__ == "__main__":
    main()
