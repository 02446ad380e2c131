"""Download speed and memory: eqviz's streamed fetch against reading the whole response into memory
(what NVIDIA's dnnlib.util.open_url does), from the same local server in the same run.

    python3 benchmarks/bench_download.py                 # 256 MB, 3 rounds
    python3 benchmarks/bench_download.py --mb 512 --rounds 5

Each measurement runs in a fresh process (so peak RSS is its own); the server is a thread of this
process serving one in-memory file (tests/file_server.py). Reported: MB/s and peak RSS of each, the
median ratio of eqviz's time over the baseline's, and the time to reuse the cached file (its sha256
is checked on every first use in a process).
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

# Peak RSS from VmHWM: ru_maxrss would include the parent's pages from before exec.
PEAK = "int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
EQVIZ = r"""
import sys, time
from eqviz.downloads.fetch import fetch
t = time.perf_counter(); path = fetch(sys.argv[1])
print(time.perf_counter() - t, PEAK)
""".replace("PEAK", PEAK)
WHOLE = r"""
import sys, time, urllib.request
t = time.perf_counter()
with urllib.request.urlopen(sys.argv[1]) as r:
    data = r.read()
with open(sys.argv[2], "wb") as f:
    f.write(data)
print(time.perf_counter() - t, PEAK)
""".replace("PEAK", PEAK)


def measure(script: str, url: str, folder: Path) -> tuple[float, int]:
    env = {**os.environ, "EQVIZ_CACHE": str(folder / "cache"), "EQVIZ_OFFLINE": "", "EQVIZ_MIRROR": "",
           "http_proxy": "", "HTTP_PROXY": ""}
    out = subprocess.run([sys.executable, "-c", script, url, str(folder / "whole.bin")], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    from file_server import FileServer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = os.urandom(args.mb * 2**20)
    ratios = []
    with FileServer({"/net.pkl": data}) as server:
        for round_ in range(args.rounds):
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                ours = measure(EQVIZ, server.url("/net.pkl"), Path(a))
                reuse = measure(EQVIZ, server.url("/net.pkl"), Path(a))  # a new process: sha256 checked
                whole = measure(WHOLE, server.url("/net.pkl"), Path(b))
            ratios.append(ours[0] / whole[0])
            print(f"round {round_}: eqviz {args.mb / ours[0]:.0f} MB/s, peak RSS {ours[1] / 1024:.0f} MB, "
                  f"cached reuse {reuse[0]:.2f} s | whole-response baseline {args.mb / whole[0]:.0f} MB/s, "
                  f"peak RSS {whole[1] / 1024:.0f} MB | time ratio {ratios[-1]:.2f}")
    print(f"median time ratio eqviz / baseline over {args.rounds} rounds: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
