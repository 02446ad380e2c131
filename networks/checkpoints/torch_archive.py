"""Weight files written by `torch.save` ({name: tensor}), read through the checkpoint loader's gates.

`torch.load(weights_only=True)` allows `bytearray` and inflates every zip record before anything is
checked: a 62-byte file can allocate 1.4 GB. Here both of torch's formats are parsed by eqviz:
  * the zip archive (torch >= 1.6): `<root>/data.pkl` plus one record `<root>/data/<key>` per
    storage, each record's declared size checked (eqviz.untrusted.archives) before it is inflated;
  * the legacy stream (five pickles, then each storage as an 8-byte element count and its bytes),
    each storage's count checked against the bytes the file holds.
The pickles go through the opcode scan and the allow-listed unpickler of NVIDIA checkpoints
(`safe_unpickler`), under a budget of the file's size, and the result must be a dict of tensors.
"""
import mmap
import struct

import torch

from eqviz.errors import CheckpointError
from eqviz.networks.checkpoints.pickle_scan import scan_pickle
from eqviz.networks.checkpoints.safe_unpickler import SafeUnpickler, spend_data, unpickle_checked
from eqviz.networks.checkpoints.torch_storage import LEGACY_MAGIC, LEGACY_PROTOCOL, Storage, StorageType
from eqviz.untrusted.archives import UntrustedZip
from eqviz.untrusted.files import FileKind, check_regular_file, open_untrusted

MAX_PICKLE_BYTES = 16 << 20   # data.pkl of a state dict: about 100 bytes per tensor
MAX_TENSORS = 100_000


class _StorageUnpickler(SafeUnpickler):
    """SafeUnpickler that also resolves torch's storage classes and its storage persistent ids.

    `storage(key, dtype, numel)` returns the Storage a persistent id names; the same key is the same
    storage (tensors that share one are views of one)."""

    def __init__(self, stream, storage):
        super().__init__(stream)
        self._storage = storage
        self._seen = {}

    def find_class(self, module, name):
        found = StorageType.named(module, name)
        return found if found is not None else super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise CheckpointError("a tensor storage has an unreadable id; the file is damaged")
        storage_type, key, location, numel = pid[1:5]
        if not (isinstance(storage_type, StorageType) and isinstance(key, str) and len(key) <= 64
                and isinstance(location, str) and type(numel) is int and numel >= 0
                and (len(pid) == 5 or pid[5] is None)):
            raise CheckpointError("a tensor storage has an unreadable id; the file is damaged")
        if key in self._seen:
            storage = self._seen[key]
            if storage.flat.dtype != storage_type.dtype or storage.flat.numel() != numel:
                raise CheckpointError(f"storage {key!r} is declared twice with different types or sizes")
            return storage
        if len(self._seen) >= MAX_TENSORS:
            raise CheckpointError(f"the file holds more than {MAX_TENSORS:,} storages, which no weight file does")
        self._seen[key] = self._storage(key, storage_type.dtype, numel)
        return self._seen[key]


def _itemsize(dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _state_dict(obj, kind: FileKind, path) -> dict:
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise kind.refuse(path, "does not hold a state dict of named tensors")
    return {key: value.as_subclass(torch.Tensor) for key, value in obj.items()}


def _from_zip(path, kind: FileKind, file_size: int) -> dict:
    with UntrustedZip(path, kind) as archive:
        pickles = [n for n in archive.names() if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise kind.refuse(path, "is a zip archive but not one torch.save wrote (no single data.pkl)")
        root = pickles[0][:-len("data.pkl")]

        def storage(key, dtype, numel):
            nbytes = numel * _itemsize(dtype)
            spend_data(nbytes)  # the sum of all storages against the file's size, before inflating
            name = f"{root}data/{key}"
            if name not in archive:
                raise CheckpointError(f"tensor record {key!r} is missing from the archive; the file is damaged")
            data = archive.read(name, nbytes)
            if len(data) != nbytes:
                raise CheckpointError(f"tensor record {key!r} holds {len(data):,} bytes but its tensor needs "
                                      f"{nbytes:,}; the file is damaged")
            return Storage(torch.frombuffer(bytearray(data), dtype=dtype) if nbytes else torch.empty(0, dtype=dtype))

        text = archive.read(pickles[0], MAX_PICKLE_BYTES)
        return unpickle_checked(text, "the file", unpickler=lambda s: _StorageUnpickler(s, storage),
                                budget_bytes=file_size, persistent_ids=True)


def _from_legacy(path, kind: FileKind, file_size: int) -> dict:
    """torch's legacy stream: the storages are allocated (untouched) while the object is unpickled,
    then filled from the file in the order the key list gives, each count checked."""
    with open_untrusted(path, kind) as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        pos = 0

        def next_pickle():
            nonlocal pos
            start, pos = pos, scan_pickle(view, pos, persistent_ids=True)
            return view[start:pos]

        magic = unpickle_checked(next_pickle(), "the file")  # a plain pickle is refused here, naming its globals
        protocol, sys_info = (unpickle_checked(next_pickle(), "the file") for _ in range(2))
        if magic != LEGACY_MAGIC or protocol != LEGACY_PROTOCOL or not isinstance(sys_info, dict):
            raise CheckpointError("it is a pickle, but not in torch's legacy format")
        if sys_info.get("little_endian") is not True:
            raise CheckpointError("it was written big-endian, which eqviz does not read")
        storages = {}

        def storage(key, dtype, numel):
            spend_data(numel * _itemsize(dtype))
            storages[key] = Storage(torch.empty(numel, dtype=dtype))
            return storages[key]

        obj = unpickle_checked(next_pickle(), "the file", unpickler=lambda s: _StorageUnpickler(s, storage),
                               budget_bytes=file_size, persistent_ids=True)
        keys = unpickle_checked(next_pickle(), "the file")
        if not isinstance(keys, list) or sorted(keys) != sorted(storages):
            raise CheckpointError("its list of storages does not match the storages it uses; the file is damaged")
        f.seek(pos)
        for key in keys:  # read, not mapped: the weights' bytes are resident once, in their tensors
            flat = storages[key].flat
            nbytes = flat.numel() * flat.element_size()
            if pos + 8 + nbytes > file_size or struct.unpack("<q", f.read(8))[0] != flat.numel() \
                    or f.readinto(memoryview(flat.view(torch.uint8).numpy())) != nbytes:
                raise CheckpointError(f"storage {key!r} declares {flat.numel():,} elements that the file does not "
                                      "hold; it is truncated or damaged")
            pos += 8 + nbytes
        if pos != file_size:
            raise CheckpointError(f"{file_size - pos:,} bytes follow the last storage; the file is damaged")
    return obj


def read_weights(path, kind: FileKind) -> dict:
    """{name: tensor} of a torch.save file of either format, refused in one sentence (`kind`'s error)
    when it is anything else, holds anything but tensors in a dict, or declares what it does not hold."""
    file_size = check_regular_file(path, kind).st_size
    with open_untrusted(path, kind) as f:
        head = f.read(4)
    try:
        if head == b"PK\x03\x04":
            obj = _from_zip(path, kind, file_size)
        elif head[:1] == b"\x80":
            obj = _from_legacy(path, kind, file_size)
        else:
            raise CheckpointError("it is neither a zip archive nor a pickle")
    except CheckpointError as exc:
        raise kind.refuse(path, f"is not a plain PyTorch weight file ({_without_source(exc)})") from None
    except (ValueError, OSError, struct.error, IndexError) as exc:
        raise kind.refuse(path, f"is not a plain PyTorch weight file (damaged: {type(exc).__name__})") from None
    return _state_dict(obj, kind, path)


def _without_source(exc: CheckpointError) -> str:
    text = str(exc)
    return text[len("the file: "):] if text.startswith("the file: ") else text
