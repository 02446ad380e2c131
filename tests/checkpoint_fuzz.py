"""Fuzzing checkpoint loading: seed files of every format, mutations, and a crash-proof runner.

Seeds are real checkpoints: NVIDIA's reference pickles, a legacy TensorFlow pickle written the way
test_checkpoint_tf writes one, and eqviz .safetensors conversions. `mutate` damages one in a named
way (byte flips, truncation, opcode edits, kwargs edits, config JSON edits, safetensors header
edits). `FuzzRunner` loads each case as `eqviz info` would (`inspect_checkpoint`) in a child forked
from a worker process, under an address-space cap and a time limit, so a segfault, a hang or a
runaway allocation is an observed outcome instead of the end of the test run.

The worker imports torch with one thread before it forks (forking a process whose OpenMP pool is
running can deadlock the child); the test process itself never forks.
"""
import copy
import dataclasses
import json
import os
import pickletools
import random
import resource
import signal
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

OUTCOMES_OK = ("loaded", "refused")
TESTS_DIR = Path(__file__).resolve().parent

# Values a hostile or broken file puts where a number or setting belongs.
HOSTILE_VALUES = [0, -1, 1, 2, 3, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 63, 10 ** 30, -(2 ** 31), 1e308, -1e308, 0.5,
                  float("nan"), float("inf"), True, False, None, "", "x" * 10_000, "lrelu", "inference_only",
                  [], [1, 2, 3], [[1]] * 3, {}, {"a": 1}, [1e9] * 64, np.zeros(3), np.zeros((2, 2), np.int8),
                  np.float32(1.5), np.int64(7), np.bool_(True)]
HOSTILE_INTS = [0, 1, 2, 255, 256, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 375_000_000, 10 ** 9]


# ---- seeds ---------------------------------------------------------------------------------------

def make_seeds(reference_dir: Path, out_dir: Path) -> dict:
    """{name: (format, bytes)}: NVIDIA pickles (StyleGAN2, StyleGAN3-T, -R, conditional), a TF
    pickle and two eqviz safetensors files."""
    import torch

    from eqviz.networks.checkpoints.loading import load_generator
    from eqviz.networks.checkpoints.safe_format import save_generator

    sys.path.insert(0, str(TESTS_DIR))
    from test_checkpoint_tf import reference_generator, write_tf_pickle

    seeds = {}
    for name in ("sg2_64", "sg3t_64", "sg3r_64", "sg3t_64_cond"):
        seeds[name] = ("pickle", (reference_dir / "pkl" / f"{name}.pkl").read_bytes())
    with torch.no_grad():
        tf_path = write_tf_pickle(out_dir / "seed_tf.pkl", reference_generator(1), reference_generator(2))
    seeds["tf_sg2_16"] = ("pickle", tf_path.read_bytes())
    for name in ("sg2_64", "sg3t_64"):
        path = save_generator(load_generator(reference_dir / "pkl" / f"{name}.pkl"), out_dir / f"seed_{name}.safetensors")
        seeds[f"{name}_safetensors"] = ("safetensors", path.read_bytes())
    return seeds


# ---- mutations -----------------------------------------------------------------------------------

def _opcodes(data: bytes) -> list:
    """(name, argument, position, end) of every opcode of a pickle."""
    ops = list(pickletools.genops(data))
    return [(op.name, arg, pos, ops[i + 1][2] if i + 1 < len(ops) else len(data))
            for i, (op, arg, pos) in enumerate(ops)]


def _structure_position(data: bytes, ops: list | None, rng: random.Random) -> int:
    """A byte position, mostly inside the pickle's structure rather than its weight payloads."""
    if ops and rng.random() < 0.8:
        name, _, pos, end = rng.choice(ops)
        return rng.randrange(pos, min(end, pos + 16))
    return rng.randrange(len(data))


def _encode_int(name: str, value: int) -> bytes | None:
    """The opcode `name` carrying `value` (wrapped to the argument's width), or None."""
    widths = {"BININT1": ("K", "<B"), "BININT2": ("M", "<H"), "BININT": ("J", "<i"), "BINGET": ("h", "<B"),
              "LONG_BINGET": ("j", "<I"), "BINPUT": ("q", "<B"), "LONG_BINPUT": ("r", "<I")}
    if name not in widths:
        return None
    code, fmt = widths[name]
    bits = struct.calcsize(fmt) * 8
    value %= 1 << bits
    if fmt[1].islower() and value >= 1 << (bits - 1):
        value -= 1 << bits
    return code.encode() + struct.pack(fmt, value)


# Short opcode sequences a hostile pickle splices in (each valid on its own stack picture or not).
_SPLICES = [
    b"N\x85" + b"\x85" * 5000,                        # a tuple nested 5000 deep
    b"(" * 300,                                        # marks nested 300 deep
    b"N" + b"r" + struct.pack("<I", 375_000_000),      # LONG_BINPUT far past the memo
    b"\x8e" + struct.pack("<Q", 2 ** 40),              # BINBYTES8 longer than the file
    b"\x95" + struct.pack("<Q", 2 ** 50),              # FRAME longer than the file
    b"cos\nsystem\n",                                  # GLOBAL os.system
    b"\x8c\x05numpy\x8c\x07ndarray\x93",               # STACK_GLOBAL numpy.ndarray
    b"cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R",  # numpy.dtype('O8', False, True)
    b"Q",                                              # BINPERSID
    b"\x97",                                           # NEXT_BUFFER
    b"]\x94" + b"h\x00" * 2000 + b"\x94",              # many references to one list
]


def _mutate_pickle_ops(data: bytes, rng: random.Random, ops: list) -> tuple[bytes, str]:
    name, arg, pos, end = rng.choice(ops)
    choice = rng.randrange(6)
    if choice == 0 and _encode_int(name, 0) is not None:
        value = rng.choice(HOSTILE_INTS + [arg + 1 if isinstance(arg, int) else 0, -1])
        return data[:pos] + _encode_int(name, value) + data[end:], f"{name}@{pos} -> {value}"
    if choice == 1:
        return data[:pos] + data[end:], f"delete {name}@{pos}"
    if choice == 2:
        return data[:pos] + data[pos:end] * rng.randint(2, 4) + data[end:], f"repeat {name}@{pos}"
    if choice == 3:
        code = rng.choice(pickletools.opcodes).code.encode("latin-1")
        return data[:pos] + code + data[pos + 1:], f"opcode {name}@{pos} -> {pickletools.code2op[code.decode('latin-1')].name}"
    if choice == 4:
        splice = rng.choice(_SPLICES)
        return data[:pos] + splice + data[pos:], f"splice {splice[:12]!r}... before {name}@{pos}"
    if name in ("SHORT_BINUNICODE", "BINUNICODE") and isinstance(arg, str):
        new = rng.choice(["os", "system", "builtins", "eval", "numpy", "ndarray", "_reconstruct", "dtype",
                          "Generator", "SynthesisInput", "z_dim", "_modules", "_parameters", "x" * 300])
        encoded = new.encode()
        return data[:pos] + b"X" + struct.pack("<I", len(encoded)) + encoded + data[end:], f"string {arg[:20]!r} -> {new[:20]!r}"
    return byte_flips(data, rng, ops)


def byte_flips(data: bytes, rng: random.Random, ops: list | None) -> tuple[bytes, str]:
    out = bytearray(data)
    where = []
    for _ in range(rng.randint(1, 8)):
        pos = _structure_position(data, ops, rng)
        out[pos] = rng.randrange(256)
        where.append(pos)
    return bytes(out), f"byte flips at {where}"


def truncate_at(data: bytes, rng: random.Random, ops: list | None) -> tuple[bytes, str]:
    pos = _structure_position(data, ops, rng) if rng.random() < 0.7 else rng.randrange(len(data))
    return data[:pos], f"truncated to {pos} bytes"


def _hostile_value(rng: random.Random):
    if rng.random() < 0.15:  # nested deep, or shared many times over
        deep = []
        for _ in range(rng.choice([50, 400])):  # pickle itself recurses while writing
            deep = [deep]
        return deep
    return copy.deepcopy(rng.choice(HOSTILE_VALUES))


def _mutate_pickle_kwargs(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A generator's saved kwargs (or a training-set setting) replaced with a hostile value, re-pickled."""
    import io

    from checkpoint_pickles import dumps, from_inert
    from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle

    snapshot = safe_load_pickle(io.BytesIO(data), "seed")
    if isinstance(snapshot, tuple):  # TensorFlow: (G, D, Gs)
        writable = from_inert(snapshot)
        kwargs = writable[2].state["static_kwargs"]
        key = rng.choice(sorted(kwargs))
        kwargs[key] = _hostile_value(rng)
        return dumps(writable, protocol=3), f"TF static_kwargs[{key!r}] -> {type(kwargs[key]).__name__}"
    snapshot = from_inert(snapshot)  # before the hostile value goes in: from_inert would walk it
    target = snapshot["G_ema"]
    kwargs = dict(target.state["_init_kwargs"])
    where = rng.choice(["top", "top", "mapping", "training_set"])
    if where == "mapping" and isinstance(kwargs.get("mapping_kwargs"), dict):
        mapping = dict(kwargs["mapping_kwargs"])
        key = rng.choice(sorted(mapping) + ["num_layers", "w_avg_beta"])
        mapping[key] = _hostile_value(rng)
        kwargs["mapping_kwargs"] = mapping
    elif where == "training_set" and isinstance(snapshot.get("training_set_kwargs"), dict):
        key = rng.choice(sorted(snapshot["training_set_kwargs"]))
        snapshot["training_set_kwargs"] = dict(snapshot["training_set_kwargs"], **{key: _hostile_value(rng)})
    else:
        key = rng.choice(sorted(kwargs) + ["kernel_size", "channel_max", "num_layers"])
        kwargs[key] = _hostile_value(rng)
    target.state["_init_kwargs"] = kwargs
    return dumps(snapshot), f"{where} kwargs[{key!r}] edited"


def _safetensors_parts(data: bytes) -> tuple[dict, bytes]:
    length = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + length]), data[8 + length:]


def _safetensors_join(header: dict, body: bytes) -> bytes:
    text = json.dumps(header, allow_nan=True).encode()
    return struct.pack("<Q", len(text)) + text + body


def _mutate_safetensors(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    header, body = _safetensors_parts(data)
    choice = rng.randrange(4)
    if choice == 0:  # the architecture description
        config = json.loads(header["__metadata__"]["config"])
        target = config["mapping"] if rng.random() < 0.25 else config
        key = rng.choice(sorted(target) + ["unknown_field"])
        if rng.random() < 0.1:
            target.pop(key, None)
            what = f"config field {key!r} removed"
        else:
            value = _hostile_value(rng)
            target[key] = value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value  # JSON has no arrays
            what = f"config[{key!r}] edited"
        text = json.dumps(config, allow_nan=True)
        if rng.random() < 0.05:
            text = "[" * 100_000 + "]" * 100_000
            what = "config nested 100000 deep"
        header["__metadata__"]["config"] = text
        return _safetensors_join(header, body), what
    if choice == 1:  # a tensor's shape
        key = rng.choice([k for k in header if k != "__metadata__"])
        shape = header[key]["shape"]
        if shape and rng.random() < 0.7:
            i = rng.randrange(len(shape))
            shape[i] = rng.choice([0, 1, shape[i] + 1, shape[i] * 2, 2 ** 31, 2 ** 40])
        else:
            shape.append(rng.choice([1, 2, 2 ** 20]))
        return _safetensors_join(header, body), f"shape of {key} -> {shape}"
    if choice == 2:  # a tensor's dtype
        key = rng.choice([k for k in header if k != "__metadata__"])
        header[key]["dtype"] = rng.choice(["F16", "BF16", "F64", "I8", "U8", "BOOL", "I64", "C64"])
        return _safetensors_join(header, body), f"dtype of {key} -> {header[key]['dtype']}"
    key = rng.choice([k for k in header if k != "__metadata__"])  # a tensor's byte range
    begin, end = header[key]["data_offsets"]
    header[key]["data_offsets"] = rng.choice([[begin, end + 4], [0, len(body)], [end, begin], [begin, 2 ** 40]])
    return _safetensors_join(header, body), f"data_offsets of {key} -> {header[key]['data_offsets']}"


MUTATIONS = ("byte_flips", "truncate", "opcodes", "kwargs", "safetensors_header")


def mutate(file_format: str, data: bytes, rng: random.Random, ops: list | None = None) -> tuple[bytes, str]:
    """One damaged copy of a seed file and a description of the damage. `ops` (from `_opcodes`)
    is passed in to avoid re-parsing a pickle seed for every case."""
    kind = rng.choice(MUTATIONS)
    if kind == "byte_flips":
        return byte_flips(data, rng, ops)
    if kind == "truncate":
        return truncate_at(data, rng, ops)
    if file_format == "pickle":
        if kind == "opcodes" or rng.random() < 0.5:
            return _mutate_pickle_ops(data, rng, ops or _opcodes(data))
        return _mutate_pickle_kwargs(data, rng)
    return _mutate_safetensors(data, rng)


def seed_opcodes(seeds: dict) -> dict:
    return {name: _opcodes(data) if fmt == "pickle" else None for name, (fmt, data) in seeds.items()}


# ---- running cases safely ------------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    status: str          # 'loaded', 'refused', 'error' (another exception), 'crash' (a signal), 'timeout'
    seconds: float       # CPU seconds the child used (wall time is meaningless on a starved, niced worker)
    wall_seconds: float
    peak_rss: int        # bytes, the child's peak resident memory
    rss_at_start: int    # bytes resident when the child started (inherited from the worker)
    detail: str          # the refusal or error message, or the signal

    @property
    def peak_growth(self) -> int:
        return self.peak_rss - self.rss_at_start


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(path: str, address_space: int, cpu_seconds: int, result_path: str, reader: str) -> None:
    """Runs in the forked child: caps, loads, writes (status, detail, peak), exits without cleanup.
    `reader` 'checkpoint' loads as `eqviz info` does (refused: a CheckpointError); any other name is a
    side-file reader of side_readers.READERS (refused: an EqvizError)."""
    start_rss = _rss()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # stdout carries the worker's answers; nothing loaded may write there
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    from eqviz.errors import CheckpointError, EqvizError
    from eqviz.networks.checkpoints.loading import inspect_checkpoint

    refusal = CheckpointError if reader == "checkpoint" else EqvizError
    try:
        if reader == "checkpoint":
            status, detail = "loaded", "\n".join(inspect_checkpoint(path).lines())
        else:
            import warnings

            import side_readers

            warnings.simplefilter("error")  # a warning would be a stray line on the user's terminal
            status, detail = "loaded", side_readers.READERS[reader](path)
    except refusal as exc:
        status, detail = "refused", str(exc)
    except BaseException:  # noqa: BLE001 - the whole point is to record what escaped
        status, detail = "error", traceback.format_exc(limit=8)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(result_path, "w") as f:
        json.dump({"status": status, "detail": detail, "peak": peak, "start": start_rss}, f)
    os._exit(0)


def worker_main() -> None:
    """Reads JSON requests (path, address_space, timeout, result) from stdin, answers each with a
    JSON Outcome line; one forked child per request."""
    import torch

    torch.set_num_threads(1)
    import eqviz.networks.checkpoints.loading  # noqa: F401 - imported once, inherited by every child

    for line in sys.stdin:
        request = json.loads(line)
        reader = request.get("reader", "checkpoint")
        if reader != "checkpoint":
            import side_readers

            side_readers.prepare(Path(request["reference"]))  # once: every child inherits the generator
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request["path"], request["address_space"], int(request["timeout"]) + 5, request["result"], reader)
        deadline = start + request["timeout"]
        status = None
        while True:
            done, wait_status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, _, usage = os.wait4(pid, 0)
                status = "timeout"
                break
            time.sleep(0.005)
        wall = time.monotonic() - start
        cpu = usage.ru_utime + usage.ru_stime
        result = {"status": status or "crash", "detail": "", "peak": 0, "start": 0}
        if status is None and os.WIFSIGNALED(wait_status):
            result["detail"] = f"killed by signal {os.WTERMSIG(wait_status)}"
        elif status is None and Path(request["result"]).exists():
            result = json.loads(Path(request["result"]).read_text())
        elif status is None:
            result["detail"] = f"exited with status {os.WEXITSTATUS(wait_status)} and no result"
        Path(request["result"]).unlink(missing_ok=True)
        print(json.dumps({"seconds": cpu, "wall": wall, **result}), flush=True)


class FuzzRunner:
    """A worker process that loads checkpoints (or side files) in forked, capped children."""

    def __init__(self, work_dir: Path, address_space: int = 4 << 30, timeout: float = 60, nice: int = 0,
                 reference: Path | None = None):
        """`timeout`: wall seconds before a child is killed (set it well above the CPU bar when
        the worker is niced on a busy machine); the child's CPU limit is the same number.
        `reference`: NVIDIA's reference folder, needed by the side-file readers (they check
        sessions, W and directions against its 64-px StyleGAN2)."""
        self.work_dir, self.address_space, self.timeout = Path(work_dir), address_space, timeout
        self.reference = reference
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
            [str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]))
        command = [sys.executable, "-c", "import checkpoint_fuzz; checkpoint_fuzz.worker_main()"]
        if nice:
            command = ["nice", "-n", str(nice), *command]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def run(self, path: Path, reader: str = "checkpoint") -> Outcome:
        """Loads `path` with `reader` ('checkpoint', or a name in side_readers.READERS) in a capped child."""
        request = {"path": str(path), "address_space": self.address_space, "timeout": self.timeout,
                   "result": str(self.work_dir / f"result-{os.getpid()}.json"), "reader": reader}
        if reader != "checkpoint":
            if self.reference is None:
                raise ValueError("side-file readers need the reference folder: FuzzRunner(..., reference=...)")
            request["reference"] = str(self.reference)
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fuzz worker died")
        r = json.loads(line)
        return Outcome(r["status"], r["seconds"], r["wall"], r["peak"], r["start"], r["detail"])

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
