"""Hostile files, one per class of attack (tests/hostile_checkpoints.py): each is refused with one
CheckpointError sentence within 60 s and 1.5 GB of memory growth under a 4 GB address space, and a
representative few through the real `eqviz info` under `prlimit --as=4 GB`: exit 2, one line, no
traceback."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from checkpoint_fuzz import FuzzRunner
from hostile_checkpoints import build_all

MAX_SECONDS = 60
MAX_GROWTH = 1.5e9
ADDRESS_SPACE = 4 << 30
CLASSES = (
    "object array over file bytes in z_dim", "object array by _reconstruct+setstate in training_set_kwargs",
    "structured dtype with an object field", "object-dtype numpy scalar", "memo index 375,000,000 (9 bytes)",
    "7e8-element object array declared", "zero-stride tensor of 1e9 elements",
    "TF-style variable as a huge zero-stride view", "storage declaring 1e12 elements over 4 bytes",
    "one storage referenced 10,000 times", "billion laughs in training_set_kwargs.path",
    "billion laughs of tuples as a dict key", "tuple nested 100,000 deep as a dict key",
    "20,000 colliding integer dict keys", "list nested 1,000,000 deep", "frame longer than the file",
    "string longer than the file", "7,000,000 empty sets in 7 MB", "safetensors with 10^6 extra tiny tensors",
    "safetensors img_resolution 2^16", "safetensors StyleGAN3 with 10^6 layers",
    "safetensors mapping with 10^7 layers", "safetensors channel_max 8192 and channel_base 2^24",
    "safetensors channel_max 1024 (150M parameters) in a 2 MB file",
    "safetensors config nested 100,000 deep", "pickle img_resolution 8192 with 64-px weights", "_modules a list",
    "_parameters a list", "mapping_kwargs a list", "z_dim a string", "kernel_size True", "module chain 3000 deep",
    "pickle of an int", "complex storage", "int8 weight", "bool weight", "safetensors complex64 weight",
    "safetensors int8 weight", "named pipe", "device /dev/zero",
)
# What each refusal must say: the cause, not only that the file was refused.
DTYPE = "unsupported dtype"
EXPECTED_WORDS = {
    "object array over file bytes in z_dim": DTYPE,
    "object array by _reconstruct+setstate in training_set_kwargs": DTYPE,
    "structured dtype with an object field": DTYPE,
    "object-dtype numpy scalar": DTYPE,
    "memo index 375,000,000 (9 bytes)": "memo entry 375,000,000",
    "7e8-element object array declared": DTYPE,
    "zero-stride tensor of 1e9 elements": "zero or overlapping stride",
    "TF-style variable as a huge zero-stride view": "built over something other than its own bytes",
    "storage declaring 1e12 elements over 4 bytes": "declares 1,000,000,000,000 elements",
    "one storage referenced 10,000 times": "unexpected mapping.b0",
    "billion laughs in training_set_kwargs.path": "training-set setting 'path' is a list",
    "billion laughs of tuples as a dict key": "tuples that would take too long to hash",
    "tuple nested 100,000 deep as a dict key": "nests containers more than 200 deep",
    "20,000 colliding integer dict keys": "more than 10,000 non-string dict keys",
    "list nested 1,000,000 deep": "nests containers more than 200 deep",
    "frame longer than the file": "frame longer than the file",
    "string longer than the file": "declares a 1,099,511,627,776-byte value",
    "7,000,000 empty sets in 7 MB": "builds more than 256 MB of Python objects",
    "safetensors with 10^6 extra tiny tensors": "83,901,245-byte table of tensors",
    "safetensors img_resolution 2^16": "img_resolution is 65536, outside the range",
    "safetensors StyleGAN3 with 10^6 layers": "num_layers is 1000000, outside the range",
    "safetensors mapping with 10^7 layers": "num_layers is 10000000, outside the range",
    "safetensors channel_max 8192 and channel_base 2^24": "raise the memory limit",
    "safetensors channel_max 1024 (150M parameters) in a 2 MB file": "parameters but the file holds only",
    "safetensors config nested 100,000 deep": "no readable architecture description",
    "pickle img_resolution 8192 with 64-px weights": "with no channels",
    "_modules a list": "is a list, not a dict",
    "_parameters a list": "_parameters table of 'MappingNetwork' is a list",
    "mapping_kwargs a list": "mapping kwargs are a list",
    "z_dim a string": "z_dim is '64', not a whole number",
    "kernel_size True": "kernel_size is True, not a whole number",
    "module chain 3000 deep": "more than 200 deep",
    "pickle of an int": "is a pickle of 5",
    "complex storage": "complex numbers",
    "int8 weight": "stored as int8",
    "bool weight": "stored as bool",
    "safetensors complex64 weight": "stored as complex64",
    "safetensors int8 weight": "stored as int8",
    "named pipe": "is a named pipe",
    "device /dev/zero": "is a device",
}
CLI_SAMPLE = ("memo index 375,000,000 (9 bytes)", "object array over file bytes in z_dim",
              "billion laughs in training_set_kwargs.path", "named pipe", "safetensors mapping with 10^7 layers",
              "7,000,000 empty sets in 7 MB", "safetensors with 10^6 extra tiny tensors")


@pytest.fixture(scope="module")
def hostile(reference_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    files = build_all(reference_dir, work)
    runner = FuzzRunner(work, address_space=ADDRESS_SPACE, timeout=MAX_SECONDS + 30)
    yield files, runner
    runner.close()


def test_the_list_of_classes_is_the_list_built(hostile):
    assert sorted(hostile[0]) == sorted(CLASSES)


@pytest.mark.parametrize("name", CLASSES)
def test_hostile_file_is_refused_in_one_sentence_within_bounds(hostile, name):
    files, runner = hostile
    outcome = runner.run(files[name])
    assert outcome.status == "refused", (outcome.status, outcome.detail[-800:])
    assert "\n" not in outcome.detail and len(outcome.detail) < 600, outcome.detail
    assert EXPECTED_WORDS[name] in outcome.detail, outcome.detail
    assert outcome.seconds < MAX_SECONDS  # CPU seconds
    assert outcome.peak_growth < MAX_GROWTH, outcome.peak_growth


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_eqviz_info_exits_2_without_traceback_under_a_4gb_address_space(hostile, name):
    files, _ = hostile
    start = time.monotonic()
    # A child's peak RSS starts at its parent's, this big test process's, when it is spawned; a small
    # launcher process in between makes the peak it reports eqviz's own.
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS_LAUNCHER, "prlimit", f"--as={ADDRESS_SPACE}", sys.executable,
                           "-m", "eqviz", "info", str(files[name])], capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("eqviz info: error: ")
    assert time.monotonic() - start < MAX_SECONDS
    assert int(proc.stdout.split()[-1]) * 1024 < MAX_GROWTH


# Runs argv[1:], then prints its peak RSS (KiB) as the last line of stdout and exits with its status.
PEAK_RSS_LAUNCHER = """
import resource, subprocess, sys
status = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(status)
"""


def test_an_eqviz_bug_prints_a_short_traceback_and_asks_for_a_report(monkeypatch, capsys):
    import eqviz.cli.info
    from eqviz.cli.main import main

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(eqviz.cli.info, "run", broken)
    assert main(["info", "whatever.pkl"]) == 1
    stderr = capsys.readouterr().err
    assert "Traceback" in stderr and "ZeroDivisionError: a bug" in stderr
    assert stderr.rstrip().endswith("please report it with the lines above")


def test_max_memory_is_named_as_the_cli_spells_it(reference_dir, capsys):
    from eqviz.cli.main import main

    assert main(["info", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--max-memory", "1M"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "more than the 1.0 MB allowed" in stderr and "--max-memory: " in stderr
