"""The long checkpoint fuzz run: mutated real checkpoints of every format, each loaded as
`eqviz info` loads it in a forked child under an address-space cap and a time limit. With
--readers, the side files instead: mutated valid files of every other reader (image targets,
dataset zips, sessions, W files, direction files, Inception and LPIPS weights; tests/reader_fuzz.py).

    nohup nice -n 19 python3 benchmarks/fuzz_checkpoints.py --hours 1 --out /tmp/eqviz-fuzz > /tmp/eqviz-fuzz.log 2>&1 &

Every case's outcome is counted; a case that is not 'loaded' or 'refused' (another exception, a
crash, a timeout), takes longer than --max-seconds or grows memory past --max-growth is saved to
--out with its description, for a test to replay. A progress line is printed every --report
seconds, and the totals at the end. The mutations and the runner are tests/checkpoint_fuzz.py's
(the short seeded run of the test suite uses the same ones).
"""
import argparse
import collections
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from checkpoint_fuzz import OUTCOMES_OK, FuzzRunner, make_seeds, mutate, seed_opcodes  # noqa: E402
from reader_fuzz import make_reader_seeds, mutate_side  # noqa: E402


def checkpoint_cases(reference: Path, tmp: Path):
    """case seed -> (seed name, reader, file suffix, mutated bytes, what was done), for checkpoints."""
    seeds = make_seeds(reference, tmp)
    ops = seed_opcodes(seeds)
    names = sorted(seeds)

    def case(i: int, rng: random.Random):
        name = names[i % len(names)]
        file_format, data = seeds[name]
        return (name, "checkpoint", ".bin", *mutate(file_format, data, rng, ops[name]))

    return case


def reader_cases(reference: Path):
    """The same for the side-file readers."""
    seeds = make_reader_seeds(reference)
    names = sorted(seeds)

    def case(i: int, rng: random.Random):
        name = names[i % len(names)]
        reader, suffix, data = seeds[name]
        return (name, reader, suffix, *mutate_side(suffix[1:], data, rng))

    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0, help="first case seed; case i uses seed + i")
    parser.add_argument("--out", default="/tmp/eqviz-fuzz", help="folder for findings")
    parser.add_argument("--reference", default=os.environ.get("EQVIZ_REFERENCE", str(REPO.parent / "shared" / "reference")))
    parser.add_argument("--max-seconds", type=float, default=60, help="CPU seconds allowed per case")
    parser.add_argument("--max-growth", type=float, default=1.5e9, help="bytes of memory growth allowed per case")
    parser.add_argument("--address-space", type=int, default=4 << 30)
    parser.add_argument("--nice", type=int, default=19)
    parser.add_argument("--report", type=float, default=300, help="seconds between progress lines")
    parser.add_argument("--readers", action="store_true", help="fuzz the side-file readers instead of checkpoints")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="eqviz-fuzz-") as tmp:
        tmp = Path(tmp)
        make_case = reader_cases(Path(args.reference)) if args.readers else checkpoint_cases(Path(args.reference), tmp)
        # Niced on a shared machine a child can wait minutes for a core: the bar is on CPU seconds,
        # the wall-clock kill only catches hangs.
        runner = FuzzRunner(tmp, address_space=args.address_space, timeout=args.max_seconds * 10, nice=args.nice,
                             reference=Path(args.reference))
        counts = collections.Counter()
        worst_seconds, worst_growth, findings = 0.0, 0, 0
        start = last_report = time.monotonic()
        case = 0
        while time.monotonic() - start < args.hours * 3600:
            try:
                name, reader, suffix, mutated, what = make_case(case, random.Random(args.seed + case))
            except RecursionError:  # a mutation too deep for pickle to write; not a loader case
                case += 1
                continue
            path = tmp / f"case{suffix}"
            path.write_bytes(mutated)
            outcome = runner.run(path, reader)
            counts[outcome.status] += 1
            worst_seconds = max(worst_seconds, outcome.seconds)
            worst_growth = max(worst_growth, outcome.peak_growth)
            bad = (outcome.status not in OUTCOMES_OK or outcome.seconds > args.max_seconds
                   or outcome.peak_growth > args.max_growth
                   or (outcome.status == "refused" and "\n" in outcome.detail))
            if bad:
                findings += 1
                stem = out / f"case-{args.seed + case}-{name}"
                stem.with_suffix(suffix).write_bytes(mutated)
                stem.with_suffix(".json").write_text(json.dumps(
                    {"seed": name, "reader": reader, "what": what, "status": outcome.status, "cpu_seconds": outcome.seconds, "wall_seconds": outcome.wall_seconds,
                     "peak_growth": outcome.peak_growth, "detail": outcome.detail}, indent=1))
                print(f"FINDING case {args.seed + case} {name} / {what}: {outcome.status} "
                      f"{outcome.seconds:.1f} s CPU ({outcome.wall_seconds:.1f} s wall) {outcome.peak_growth / 1e6:.0f} MB {outcome.detail[-300:]!r}", flush=True)
            case += 1
            if time.monotonic() - last_report > args.report:
                last_report = time.monotonic()
                print(f"{(last_report - start) / 3600:.2f} h, {case} cases: {dict(counts)}, worst {worst_seconds:.1f} s CPU, "
                      f"{worst_growth / 1e6:.0f} MB growth, {findings} findings", flush=True)
        runner.close()
        print(f"done: {(time.monotonic() - start) / 3600:.2f} h, {case} cases: {dict(counts)}, worst {worst_seconds:.1f} s CPU, "
              f"{worst_growth / 1e6:.0f} MB growth, {findings} findings (in {out})", flush=True)


if __name__ == "__main__":
    main()
