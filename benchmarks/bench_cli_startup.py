"""How fast commands answer before any work: `eqviz --help`, a command's help, a missing checkpoint,
a bad seed list, against the bare interpreter (`python -c pass`) as the baseline.

    python3 benchmarks/bench_cli_startup.py              # 7 rounds
    python3 benchmarks/bench_cli_startup.py --rounds 15

Each run is a fresh process of the `eqviz` entry point installed beside this interpreter (else
`python -m eqviz`), interleaved with the baseline. Reported per command: median wall and CPU
(user + system of the child) seconds, peak RSS, and the median ratio to the baseline's wall time.
On a busy machine wall time follows the load; the CPU column is what the command itself costs.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "eqviz --help": ["--help"],
    "eqviz render --help": ["render", "--help"],
    "eqviz info MISSING.pkl": ["info", "MISSING.pkl"],
    "eqviz render M.pkl --seeds 1-x": ["render", "M.pkl", "--seeds", "1-x", "--outdir", "out"],
}


def entry_point() -> list[str]:
    beside = Path(sys.executable).with_name("eqviz")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "eqviz"]


def timed(argv: list[str], cwd: str) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS kB) of one run; the child's own figures from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped above
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    eqviz = entry_point()
    baseline = [sys.executable, "-c", "pass"]
    runs = {name: [] for name in ["python -c pass", *COMMANDS]}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "M.pkl").write_bytes(b"never read: the seed list is refused first")
        for _ in range(args.rounds):
            runs["python -c pass"].append(timed(baseline, folder))
            for name, argv in COMMANDS.items():
                runs[name].append(timed(eqviz + argv, folder))
    base = statistics.median(wall for wall, _, _ in runs["python -c pass"])
    print(f"{' '.join(eqviz)}; {args.rounds} rounds; load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores")
    print(f"{'command':<34} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'x python':>9}")
    for name, samples in runs.items():
        wall = statistics.median(w for w, _, _ in samples)
        cpu = statistics.median(c for _, c, _ in samples)
        peak = max(p for _, _, p in samples) / 1024
        print(f"{name:<34} {wall:7.3f} {cpu:7.3f} {peak:8.1f} {wall / base:9.1f}")


if __name__ == "__main__":
    main()
