"""A short, seeded fuzz run over real checkpoints of every format (the long one is
benchmarks/fuzz_checkpoints.py): every mutated file is either loaded or refused with a
CheckpointError, never a crash, another exception or a hang, within a 4 GB address space, 60 s
and 1.5 GB of memory growth."""
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkpoint_fuzz import OUTCOMES_OK, FuzzRunner, make_seeds, mutate, seed_opcodes

SEED_NAMES = ("sg2_64", "sg3t_64", "sg3r_64", "sg3t_64_cond", "tf_sg2_16", "sg2_64_safetensors", "sg3t_64_safetensors")
MAX_SECONDS = 60
MAX_GROWTH = 1.5e9


class FuzzSession(tuple):
    """(seeds, opcodes, runner, work folder); reprs short, since hypothesis prints test arguments."""

    def __repr__(self):
        return "FuzzSession(...)"


@pytest.fixture(scope="module")
def fuzz(reference_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    seeds = make_seeds(reference_dir, work)
    runner = FuzzRunner(work)
    yield FuzzSession((seeds, seed_opcodes(seeds), runner, work))
    runner.close()


def test_every_seed_loads_in_the_fuzz_runner(fuzz):
    seeds, _, runner, work = fuzz
    assert sorted(seeds) == sorted(SEED_NAMES)
    for name, (_, data) in seeds.items():
        path = work / f"{name}.seed"
        path.write_bytes(data)
        outcome = runner.run(path)
        assert outcome.status == "loaded", (name, outcome.detail)


def test_the_runner_sees_a_refusal(fuzz):
    _, _, runner, work = fuzz
    path = work / "memo.pkl"
    path.write_bytes(b"\x80\x04N" + b"r" + (375_000_000).to_bytes(4, "little") + b".")
    outcome = runner.run(path)
    assert outcome.status == "refused" and "memo entry 375,000,000" in outcome.detail


@settings(max_examples=30, derandomize=True, deadline=None, database=None)
@given(seed_name=st.sampled_from(SEED_NAMES), case_seed=st.integers(0, 2 ** 32 - 1))
def test_mutated_checkpoint_is_loaded_or_refused_within_bounds(fuzz, seed_name, case_seed):
    seeds, ops, runner, work = fuzz
    file_format, data = seeds[seed_name]
    mutated, what = mutate(file_format, data, random.Random(case_seed), ops[seed_name])
    path = work / "case.bin"
    path.write_bytes(mutated)
    outcome = runner.run(path)
    context = f"{seed_name} / {what}: {outcome.status} {outcome.detail[-600:]}"
    assert outcome.status in OUTCOMES_OK, context
    assert outcome.status == "loaded" or "\n" not in outcome.detail, context
    assert outcome.seconds < MAX_SECONDS, context
    assert outcome.peak_growth < MAX_GROWTH, context
