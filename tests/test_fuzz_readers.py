"""A short, seeded fuzz run over valid side files of every reader (tests/reader_fuzz.py; the long one is
`benchmarks/fuzz_checkpoints.py --readers`): every mutated file is read or refused with an EqvizError
in one line, never a crash, another exception or a hang, within a 4 GB address space, 60 s and
1.5 GB of memory growth."""
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkpoint_fuzz import OUTCOMES_OK, FuzzRunner
from reader_fuzz import READERS, make_reader_seeds, mutate_side

MAX_SECONDS = 60
MAX_GROWTH = 1.5e9


class ReaderFuzz(tuple):
    """(seeds, runner, work folder); repr short, since hypothesis prints test arguments."""

    def __repr__(self):
        return "ReaderFuzz(...)"


@pytest.fixture(scope="module")
def fuzz(reference_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("reader_fuzz")
    runner = FuzzRunner(work, reference=reference_dir)
    yield ReaderFuzz((make_reader_seeds(reference_dir), runner, work))
    runner.close()


def test_every_reader_has_seeds_and_reads_them(fuzz):
    seeds, runner, work = fuzz
    assert {reader for reader, _, _ in seeds.values()} == set(READERS)
    for name, (reader, suffix, data) in seeds.items():
        path = work / f"{name}{suffix}"
        path.write_bytes(data)
        outcome = runner.run(path, reader)
        assert outcome.status == "loaded", (name, outcome.detail)


@pytest.mark.parametrize("reader", READERS)
@settings(max_examples=6, derandomize=True, deadline=None, database=None)
@given(case_seed=st.integers(0, 2 ** 32 - 1))
def test_mutated_side_file_is_read_or_refused_within_bounds(fuzz, reader, case_seed):
    seeds, runner, work = fuzz
    rng = random.Random(case_seed)
    name = rng.choice(sorted(n for n, (r, _, _) in seeds.items() if r == reader))
    _, suffix, data = seeds[name]
    mutated, what = mutate_side(suffix[1:], data, rng)
    path = work / f"case{suffix}"
    path.write_bytes(mutated)
    outcome = runner.run(path, reader)
    context = f"{name} / {what}: {outcome.status} {outcome.detail[-600:]}"
    assert outcome.status in OUTCOMES_OK, context
    assert outcome.status == "loaded" or ("\n" not in outcome.detail and len(outcome.detail) < 600), context
    assert outcome.seconds < MAX_SECONDS, context
    assert outcome.peak_growth < MAX_GROWTH, context
