"""Time and memory of `eqviz info` on every class of hostile file, as a user would run it.

    python3 benchmarks/hostile_ceilings.py [--address-space 4294967296]

Builds the files of tests/hostile_checkpoints.py, runs `prlimit --as=N python3 -m eqviz info FILE`
on each (one torch thread) and prints the exit status, whether stderr is one line without a
traceback, wall and CPU seconds and peak RSS; then the ceilings over all classes. The bars: exit 2,
one line, under 60 s and 1.5 GB.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Built in a separate process: a child forked from a process holding torch and the reference models
# would report that process's memory as its own peak (ru_maxrss survives exec).
BUILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from hostile_checkpoints import build_all
print(json.dumps({name: str(path) for name, path in build_all(Path(sys.argv[2]), Path(sys.argv[3])).items()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address-space", type=int, default=4 << 30)
    parser.add_argument("--reference", default=os.environ.get("EQVIZ_REFERENCE", str(REPO.parent / "shared" / "reference")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eqviz-hostile-") as tmp:
        built = subprocess.run([sys.executable, "-c", BUILD, str(REPO / "tests"), args.reference, tmp], check=True,
                               capture_output=True, text=True).stdout
        files = json.loads(built.splitlines()[-1])
        worst_wall = worst_cpu = worst_rss = 0.0
        failures = 0
        print(f"{'class':62} {'exit':>4} {'1 line':>6} {'wall s':>7} {'cpu s':>6} {'peak MB':>8}")
        for name, path in files.items():
            stderr_path = Path(tmp) / "stderr.txt"
            with open(os.devnull, "w") as devnull, open(stderr_path, "w") as stderr_file:
                start = time.monotonic()
                process = subprocess.Popen(["prlimit", f"--as={args.address_space}", sys.executable, "-m", "eqviz",
                                            "info", str(path)], stdout=devnull, stderr=stderr_file,
                                           env=dict(os.environ, OMP_NUM_THREADS="1"))
                _, status, usage = os.wait4(process.pid, 0)  # this child's own CPU time and peak RSS
                wall = time.monotonic() - start
            stderr = stderr_path.read_text()
            one_line = stderr.count("\n") == 1 and "Traceback" not in stderr
            cpu, peak = usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024
            print(f"{name[:62]:62} {os.waitstatus_to_exitcode(status):>4} {'yes' if one_line else 'NO':>6} {wall:7.1f} "
                  f"{cpu:6.1f} {peak / 1e6:8.0f}", flush=True)
            worst_wall, worst_cpu, worst_rss = max(worst_wall, wall), max(worst_cpu, cpu), max(worst_rss, peak)
            failures += os.waitstatus_to_exitcode(status) != 2 or not one_line
        print(f"ceilings: {worst_wall:.1f} s wall, {worst_cpu:.1f} s CPU, {worst_rss / 1e6:.0f} MB peak RSS; {failures} of "
              f"{len(files)} missed exit 2 with one line")


if __name__ == "__main__":
    main()
