"""Tensor storages inside NVIDIA pickles, read without torch.load.

NVIDIA's pickles hold every storage as `torch.storage._load_from_bytes(b)`, where `b` is a
complete legacy-format `torch.save` of that storage. The format is five small pickles (a magic
number, the protocol version 1001, system info, the storage as a persistent id
('storage', type, key, location, numel, view), the list of storage keys) followed by the
element count as 8 little-endian bytes and the raw elements. torch.load would allocate whatever
count the pickled id declares before it looks at the bytes; here the count must match the bytes
present exactly, and only numeric storage types are accepted.
"""
import io
import pickle

import torch

from eqviz.errors import CheckpointError
from eqviz.networks.checkpoints.pickle_scan import scan_pickle

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
MAX_HEADER_BYTES = 4096    # the five pickles take about 350 bytes

# torch's legacy storage classes, by the name a pickle gives them.
STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}
_COMPLEX = {"ComplexFloatStorage", "ComplexDoubleStorage"}


class Storage:
    """One storage read from a pickle: a flat tensor that tensors in the pickle are views of."""

    __slots__ = ("flat",)

    def __init__(self, flat: torch.Tensor):
        object.__setattr__(self, "flat", flat)

    def __setattr__(self, name, value):  # pickle's BUILD must not retarget a storage
        raise CheckpointError("the file tries to modify a tensor storage after creating it; refusing to load it")

    @property
    def nbytes(self) -> int:
        return self.flat.numel() * self.flat.element_size()


class StorageType:
    """What find_class hands out for torch.<X>Storage: a name with a dtype, callable by nobody."""

    @staticmethod
    def named(module: str, name: str) -> "StorageType | None":
        """The storage type `module.name` names, None when it names none; complex storages refused."""
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(STORAGE_DTYPES[name])
        if module == "torch.storage" and name == "UntypedStorage":
            return StorageType(torch.uint8)
        if module == "torch" and name in _COMPLEX:
            raise CheckpointError("a tensor storage in this file holds complex numbers; weights are real")
        return None

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        object.__setattr__(self, "dtype", dtype)

    def __setattr__(self, name, value):
        raise CheckpointError("the file tries to modify a tensor storage type; refusing to load it")


class _HeaderUnpickler(pickle.Unpickler):
    """Reads the five header pickles: storage classes by name, a storage id, plain data."""

    def find_class(self, module, name):
        found = StorageType.named(module, name)
        if found is not None:
            return found
        raise CheckpointError(f"a tensor storage in this pickle refers to '{module}.{name}', which no storage needs; "
                              "refusing to load it because it could run code")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise CheckpointError("a tensor storage in this pickle has an unreadable id; the file is damaged")
        _, storage_type, key, location, numel, view = pid
        if not (isinstance(storage_type, StorageType) and isinstance(key, str) and isinstance(location, str)
                and type(numel) is int and numel >= 0 and view is None):
            raise CheckpointError("a tensor storage in this pickle has an unreadable id; the file is damaged")
        return storage_type.dtype, key, numel


def storage_from_legacy_bytes(data) -> Storage:
    """The storage a legacy `torch.save(storage)` byte string holds; CheckpointError when the
    bytes are not exactly that."""
    if not isinstance(data, (bytes, bytearray)):
        raise CheckpointError("a tensor storage in this pickle is not a byte string; the file is damaged")
    header = bytes(data[:MAX_HEADER_BYTES])
    pos = 0
    try:
        for _ in range(5):
            pos = scan_pickle(header, pos, persistent_ids=True)
        reader = _HeaderUnpickler(io.BytesIO(header))
        magic, protocol, sys_info, storage, keys = (reader.load() for _ in range(5))
    except CheckpointError as exc:
        raise CheckpointError(f"a tensor storage in this pickle is damaged or crafted ({exc})") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            UnicodeDecodeError, OverflowError):
        raise CheckpointError("a tensor storage in this pickle is damaged; re-download or re-export the "
                              "checkpoint") from None
    if magic != LEGACY_MAGIC or protocol != LEGACY_PROTOCOL or not isinstance(sys_info, dict):
        raise CheckpointError("a tensor storage in this pickle is not in torch's legacy format; the file is damaged")
    if sys_info.get("little_endian") is not True:
        raise CheckpointError("a tensor storage in this pickle was written big-endian, which eqviz does not read")
    if not isinstance(storage, tuple) or keys != [storage[1]]:
        raise CheckpointError("a tensor storage in this pickle does not hold exactly one storage; the file is damaged")
    dtype, _, numel = storage
    itemsize = torch.empty((), dtype=dtype).element_size()
    count = int.from_bytes(data[pos:pos + 8], "little")
    raw = len(data) - pos - 8
    if count != numel or raw != numel * itemsize:
        raise CheckpointError(f"a tensor storage in this pickle declares {numel:,} elements but holds "
                              f"{max(raw, 0):,} bytes of {dtype}; the file is truncated or damaged")
    if numel == 0:
        return Storage(torch.empty(0, dtype=dtype))
    return Storage(torch.frombuffer(bytearray(memoryview(data)[pos + 8:]), dtype=dtype))
