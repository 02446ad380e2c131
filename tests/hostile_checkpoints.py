"""Hostile and broken checkpoint files, one per class of attack the loader must refuse.

Each builder writes a small file that, before the loading hardening, crashed eqviz, cost gigabytes,
hung, printed a traceback or was silently accepted. `build_all` returns {name: path}; every one of
them must be refused with a one-sentence CheckpointError (`eqviz info` exit 2) within the memory
and time bars. Files are assembled from NVIDIA's reference pickles with the stand-ins of
checkpoint_pickles, or byte by byte where pickle itself would never write the stream.
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import torch

from checkpoint_pickles import Persistent, dumps, from_inert
from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle


class CallOnLoad:
    """Pickles as REDUCE(func, args), optionally followed by BUILD(state)."""

    def __init__(self, func, *args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


NUMPY_RECONSTRUCT = np.zeros(1).__reduce__()[0]
POINTER_BYTES = struct.pack("<Q", 0x4141414141414141)  # an address the file chose


def _snapshot(reference_dir: Path, name: str = "sg2_64") -> dict:
    """The reference snapshot as writable stand-ins; hostile values go in after the conversion
    (from_inert would walk them)."""
    with open(reference_dir / "pkl" / f"{name}.pkl", "rb") as f:
        return from_inert(safe_load_pickle(f, name))


def _with_kwargs(reference_dir: Path, **changes) -> bytes:
    snapshot = _snapshot(reference_dir)
    G = snapshot["G_ema"]
    G.state["_init_kwargs"] = dict(G.state["_init_kwargs"], **changes)
    return dumps(snapshot)


def _with_training_set(reference_dir: Path, **changes) -> bytes:
    snapshot = _snapshot(reference_dir)
    snapshot["training_set_kwargs"] = dict(snapshot["training_set_kwargs"], **changes)
    return dumps(snapshot)


def _mapping(snapshot: dict):
    return snapshot["G_ema"].state["_modules"]["mapping"]


def _with_weight(reference_dir: Path, value) -> bytes:
    snapshot = _snapshot(reference_dir)
    _mapping(snapshot).state["_modules"]["fc0"].state["_parameters"]["weight"] = value
    return dumps(snapshot)


def _with_state(reference_dir: Path, field: str, value) -> bytes:
    snapshot = _snapshot(reference_dir)
    _mapping(snapshot).state[field] = value
    return dumps(snapshot)


def _billion_laughs(levels: int = 40) -> list:
    value = ["lol"]
    for _ in range(levels):
        value = [value, value]
    return value


def _legacy_storage_blob(numel_declared: int, raw: bytes, storage_name: str = "FloatStorage") -> bytes:
    """A legacy torch.save of one storage, written field by field with any declared size."""
    class HeaderPickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", getattr(torch, storage_name), "0", "cpu", numel_declared, None) if obj == "S" else None

    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True,
                                                "type_sizes": {"short": 2, "int": 4, "long": 8}}):
        pickle.dump(obj, out, protocol=2)
    HeaderPickler(out, protocol=2).dump("S")
    pickle.dump(["0"], out, protocol=2)
    return out.getvalue() + struct.pack("<q", numel_declared) + raw


def _tensor_on_blob(blob: bytes, size=(64, 64), stride=(64, 1)):
    return CallOnLoad(torch._utils._rebuild_tensor_v2, CallOnLoad(torch.storage._load_from_bytes, blob), 0, size,
                      stride, False, collections.OrderedDict())


def _safetensors_with_config(seed: bytes, edit) -> bytes:
    length = struct.unpack("<Q", seed[:8])[0]
    header = json.loads(seed[8:8 + length])
    config = json.loads(header["__metadata__"]["config"])
    header["__metadata__"]["config"] = edit(config)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + seed[8 + length:]


def _safetensors_with_extra_tensors(seed: bytes, count: int) -> bytes:
    """The seed plus `count` one-element float32 tensors after its own."""
    length = struct.unpack("<Q", seed[:8])[0]
    header = json.loads(seed[8:8 + length])
    body = seed[8 + length:]
    for i in range(count):
        header[f"extra.{i}"] = {"dtype": "F32", "shape": [1], "data_offsets": [len(body) + 4 * i, len(body) + 4 * i + 4]}
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body + b"\0" * (4 * count)


def _safetensors_with_dtype(reference_dir: Path, out_dir: Path, dtype) -> bytes:
    from safetensors import safe_open
    from safetensors.torch import save_file

    seed = _safetensors_seed(reference_dir, out_dir)
    with safe_open(str(seed), framework="pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["mapping.fc0.weight"] = tensors["mapping.fc0.weight"].to(dtype)
    path = out_dir / "dtype.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    return path.read_bytes()


def _safetensors_seed(reference_dir: Path, out_dir: Path) -> Path:
    from eqviz.networks.checkpoints.loading import load_generator
    from eqviz.networks.checkpoints.safe_format import save_generator

    path = out_dir / "seed_sg3t_64.safetensors"
    if not path.exists():
        save_generator(load_generator(reference_dir / "pkl" / "sg3t_64.pkl"), path)
    return path


def _deep_module_chain(depth: int) -> bytes:
    module = Persistent("SynthesisLayer", {"_modules": {}, "_parameters": {}, "_buffers": {}})
    for _ in range(depth):
        module = Persistent("SynthesisLayer", {"_modules": {"inner": module}, "_parameters": {}, "_buffers": {}})
    G = Persistent("Generator", {"_init_kwargs": {}, "_modules": {"synthesis": module}})
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, depth * 10 + 1000))
    try:
        return dumps({"G_ema": G})
    finally:
        sys.setrecursionlimit(limit)


def _hash_laughs(levels: int = 64) -> bytes:
    """A dict key that is a tuple of two references to a tuple of two references to ... (2**levels leaves)."""
    body = b"N\x940"  # memo 0 = None
    for i in range(levels):
        body += b"h" + bytes([i]) + b"h" + bytes([i]) + b"\x86\x940"  # memo i+1 = (memo i, memo i)
    return b"\x80\x04}" + body + b"h" + bytes([levels]) + b"Ns."


def build_all(reference_dir: Path, out_dir: Path) -> dict:
    """{class of hostile input: path of a file of that class} (FIFO and device paths included)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    safetensors_seed = _safetensors_seed(reference_dir, out_dir).read_bytes()
    files = {
        # numpy's constructors turning file bytes into object pointers
        "object array over file bytes in z_dim": _with_kwargs(
            reference_dir, z_dim=CallOnLoad(np.ndarray, (1,), np.dtype("O"), POINTER_BYTES)),
        "object array by _reconstruct+setstate in training_set_kwargs": _with_training_set(
            reference_dir, path=CallOnLoad(NUMPY_RECONSTRUCT, np.ndarray, (0,), b"b",
                                           state=(1, (1,), np.dtype("O"), False, POINTER_BYTES))),
        "structured dtype with an object field": _with_kwargs(reference_dir, z_dim=CallOnLoad(
            NUMPY_RECONSTRUCT, np.ndarray, (0,), b"b",
            state=(1, (1,), np.dtype([("a", "O")]), False, POINTER_BYTES))),
        "object-dtype numpy scalar": _with_kwargs(reference_dir, z_dim=CallOnLoad(
            np.float64(0).__reduce__()[0], np.dtype("O"), POINTER_BYTES)),
        # small numbers that allocate gigabytes
        "memo index 375,000,000 (9 bytes)": b"\x80\x04N" + b"r" + struct.pack("<I", 375_000_000) + b".",
        "7e8-element object array declared": pickle.dumps(CallOnLoad(NUMPY_RECONSTRUCT, np.ndarray, (700_000_000,),
                                                                     np.dtype("O")), protocol=4),
        "zero-stride tensor of 1e9 elements": _with_weight(reference_dir, _tensor_on_blob(
            _legacy_storage_blob(1, b"\0" * 4), size=(10 ** 9,), stride=(0,))),
        "TF-style variable as a huge zero-stride view": _with_kwargs(reference_dir, z_dim=CallOnLoad(
            np.ndarray, (10 ** 9,), np.dtype("f4"), b"\0" * 4, 0, (0,))),
        "storage declaring 1e12 elements over 4 bytes": _with_weight(reference_dir, _tensor_on_blob(
            _legacy_storage_blob(10 ** 12, b"\0" * 4))),
        "one storage referenced 10,000 times": _with_state(reference_dir, "_buffers", {
            f"b{i}": t for i, t in enumerate([_tensor_on_blob(_legacy_storage_blob(64 * 64, b"\0" * 16384))] * 10_000)}),
        "billion laughs in training_set_kwargs.path": _with_training_set(reference_dir, path=_billion_laughs()),
        "billion laughs of tuples as a dict key": _hash_laughs(),
        "tuple nested 100,000 deep as a dict key": b"\x80\x02}N" + b"\x85" * 100_000 + b"Ns.",
        "20,000 colliding integer dict keys": b"\x80\x04}(" + b"".join(
            b"\x8a\x0c" + ((2 ** 61 - 1) * i).to_bytes(12, "little") + b"N" for i in range(1, 20_001)) + b"u.",
        "list nested 1,000,000 deep": b"\x80\x04" + b"]" * 1_000_000 + b"a" * 999_999 + b".",
        "frame longer than the file": b"\x80\x04\x95" + struct.pack("<Q", 2 ** 50) + b"N.",
        "string longer than the file": b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 40) + b"ab.",
        "7,000,000 empty sets in 7 MB": b"\x80\x04]" + (b"(" + b"\x8f" * 999_990 + b"e") * 7 + b".",
        "safetensors with 10^6 extra tiny tensors": _safetensors_with_extra_tensors(safetensors_seed, 10 ** 6),
        # absurd architectures
        "safetensors img_resolution 2^16": _safetensors_with_config(
            safetensors_seed, lambda c: json.dumps({**c, "img_resolution": 65536})),
        "safetensors StyleGAN3 with 10^6 layers": _safetensors_with_config(
            safetensors_seed, lambda c: json.dumps({**c, "num_layers": 10 ** 6})),
        "safetensors mapping with 10^7 layers": _safetensors_with_config(
            safetensors_seed, lambda c: json.dumps({**c, "mapping": {**c["mapping"], "num_layers": 10 ** 7}})),
        "safetensors channel_max 8192 and channel_base 2^24": _safetensors_with_config(
            safetensors_seed, lambda c: json.dumps({**c, "channel_max": 8192, "channel_base": 2 ** 24})),
        "safetensors channel_max 1024 (150M parameters) in a 2 MB file": _safetensors_with_config(
            safetensors_seed, lambda c: json.dumps({**c, "channel_max": 1024, "channel_base": 2 ** 24})),
        "safetensors config nested 100,000 deep": _safetensors_with_config(
            safetensors_seed, lambda c: "[" * 100_000 + "]" * 100_000),
        "pickle img_resolution 8192 with 64-px weights": _with_kwargs(reference_dir, img_resolution=8192),
        # wrong types where the loader expects structure
        "_modules a list": _with_state(reference_dir, "_modules", [1, 2]),
        "_parameters a list": _with_state(reference_dir, "_parameters", [1, 2]),
        "mapping_kwargs a list": _with_kwargs(reference_dir, mapping_kwargs=[1, 2]),
        "z_dim a string": _with_kwargs(reference_dir, z_dim="64"),
        "kernel_size True": _with_kwargs(reference_dir, kernel_size=True),
        "module chain 3000 deep": _deep_module_chain(3000),
        "pickle of an int": pickle.dumps(5, protocol=4),
        # weights of the wrong kind
        "complex storage": _with_weight(reference_dir, _tensor_on_blob(
            _legacy_storage_blob(64 * 64, b"\0" * 64 * 64 * 8, "ComplexFloatStorage"))),
        "int8 weight": _with_weight(reference_dir, torch.zeros(64, 64, dtype=torch.int8)),
        "bool weight": _with_weight(reference_dir, torch.zeros(64, 64, dtype=torch.bool)),
        "safetensors complex64 weight": _safetensors_with_dtype(reference_dir, out_dir, torch.complex64),
        "safetensors int8 weight": _safetensors_with_dtype(reference_dir, out_dir, torch.int8),
    }
    paths = {}
    for i, (name, data) in enumerate(files.items()):
        paths[name] = out_dir / f"hostile-{i:02d}.bin"
        paths[name].write_bytes(data)
    fifo = out_dir / "pipe.pkl"
    if not fifo.exists():
        os.mkfifo(fifo)
    paths["named pipe"] = fifo
    paths["device /dev/zero"] = Path("/dev/zero")
    return paths
