"""A pickle reader that builds only inert, checked data: it never imports or runs anything a file names.

NVIDIA's checkpoints are pickles, and a pickle may call any importable function while it loads.
`SafeUnpickler.find_class` therefore resolves an allow-list of the globals real StyleGAN
checkpoints use, and every one of them is a function or class of ours that checks its arguments
before it builds anything: numpy arrays only of bool, integer and float dtypes, built as copies of
exactly as many bytes as they need; tensors only as non-overlapping views inside storages read by
`torch_storage`; no object dtypes anywhere, no zero strides. Network modules come back as
`PersistentObject`s and TensorFlow networks as `TFNetwork`s: plain records of a class name and the
saved state, never instances of the original classes (whose source code the pickle carries; it is
never executed). Before any of this, `pickle_scan` checks the opcode stream itself, and the bytes
every array and tensor declares are summed against the size of the file.
"""
import collections
import io
import math
import mmap
import os
import pickle
import struct
import threading
import types

import numpy as np
import torch

from eqviz.errors import CheckpointError, first_line
from eqviz.networks.checkpoints.checkpoint_file import open_regular_file
from eqviz.networks.checkpoints.pickle_scan import scan_pickle
from eqviz.networks.checkpoints.torch_storage import Storage, storage_from_legacy_bytes
from eqviz.untrusted.messages import short_text

MAX_MODULE_DEPTH = 32        # sub-module nesting; StyleGAN generators nest 4 deep
MAX_TENSOR_DIMS = 8
MAX_SET_ITEMS = 100_000
MAX_NAME_LENGTH = 256        # class and attribute names


# ---------------------------------------------------------------------------------------------
# Inert stand-ins for the classes real checkpoints name.

class _Sealed(type):
    """Metaclass of the classes a pickle can name: pickle's BUILD may setattr on any object it
    holds, so without this a file could rewrite our classes for the rest of the process."""

    def __setattr__(cls, name, value):
        raise CheckpointError(f"the file tries to modify eqviz's {cls.__name__} class; refusing to load it")


def _check_plain_keys(items, what: str):
    """Keys a pickle hands to a constructor must be strings (their hashes are salted and cached)."""
    for key in items:
        if not isinstance(key, str):
            raise CheckpointError(f"{what} in this pickle has a key that is {short_text(key)}, not a name; "
                                  "the file is damaged or crafted")


class EasyDict(dict, metaclass=_Sealed):
    """dnnlib's EasyDict (a dict with attribute access); its keys stay plain dict items."""

    def __init__(self, *args, **kwargs):
        if len(args) > 1 or (args and not isinstance(args[0], dict)):
            raise CheckpointError("an EasyDict in this pickle is built from something other than a dict; the file is "
                                  "damaged or crafted")
        super().__init__(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _checked_dict(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CheckpointError(f"{what} is {short_text(value)}, not a dict; the file is damaged or crafted")
    _check_plain_keys(value, what)
    return value


class PersistentObject:
    """One network module from an NVIDIA persistence pickle: its class name and saved `__dict__`.

    BUILD cannot rewrite one (see __setstate__), but its state dict can still be changed through
    the pickle's memo after creation, so the accessors check what they read."""

    def __init__(self, class_name: str, version: int, state: dict):
        self.class_name = class_name
        self.version = version
        self.state = state

    def __repr__(self):
        return f"PersistentObject({short_text(self.class_name)})"

    def __setstate__(self, state):  # pickle's BUILD; NVIDIA's pickles never apply one to a module
        raise CheckpointError("the file tries to rewrite a network module after creating it; refusing to load it")

    def checked_state(self) -> dict:
        if not isinstance(self.class_name, str) or not isinstance(self.state, dict):
            raise CheckpointError("a network module in this pickle was rewritten after it was created; the file is "
                                  "crafted")
        return self.state

    @property
    def children(self) -> dict:
        """Sub-modules by attribute name (torch.nn.Module's `_modules`), `None` entries dropped."""
        modules = _checked_dict(self.checked_state().get("_modules"), f"the sub-module table of {self.class_name!r}")
        return {name: child for name, child in modules.items() if child is not None}

    def walk(self):
        """(dotted name, module) for self and every nested module, depth first, each once;
        refuses loops, non-modules and nesting deeper than MAX_MODULE_DEPTH."""
        on_path = set()
        pending = [("", self, 0, False)]
        while pending:
            prefix, module, depth, leaving = pending.pop()
            if leaving:
                on_path.discard(id(module))
                continue
            if not isinstance(module, PersistentObject):
                raise CheckpointError(f"sub-module {short_text(prefix.rstrip('.'))} is {short_text(module)}, not a "
                                      "network module; the checkpoint is not a StyleGAN network pickle")
            if id(module) in on_path:
                raise CheckpointError(f"sub-module {short_text(prefix.rstrip('.'))} contains itself; the file is "
                                      "damaged or crafted")
            if depth > MAX_MODULE_DEPTH:
                raise CheckpointError(f"the network's sub-modules nest more than {MAX_MODULE_DEPTH} deep, which no "
                                      "StyleGAN network does; the file is damaged or crafted")
            yield prefix, module
            on_path.add(id(module))
            pending.append((prefix, module, depth, True))
            for name, child in reversed(list(module.children.items())):
                pending.append((f"{prefix}{name}.", child, depth + 1, False))

    def descendants(self):
        """Every nested PersistentObject, depth first (self excluded)."""
        for prefix, module in self.walk():
            if prefix:
                yield module

    def state_tensors(self, prefix: str = "") -> dict:
        """The entries torch's `state_dict()` would list: parameters and persistent buffers."""
        out = {}
        for path, module in self.walk():
            state = module.checked_state()
            skip = state.get("_non_persistent_buffers_set") or ()
            if not isinstance(skip, (set, frozenset, list, tuple)):
                raise CheckpointError(f"the non-persistent buffer list of {module.class_name!r} is "
                                      f"{short_text(skip)}; the file is damaged or crafted")
            for field in ("_parameters", "_buffers"):
                table = _checked_dict(state.get(field), f"the {field} table of {module.class_name!r}")
                for name, value in table.items():
                    if value is not None and name not in skip:
                        out[prefix + path + name] = value
        return out


class TFNetwork(metaclass=_Sealed):
    """dnnlib.tflib's Network from a legacy TensorFlow pickle: keeps the saved state, runs nothing."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise CheckpointError("a TensorFlow network in this pickle has no readable state; the file is not a "
                                  "StyleGAN TensorFlow pickle")
        _check_plain_keys(state, "a TensorFlow network's state")
        self.__dict__["saved_state"] = state

    @property
    def state(self) -> dict:
        return self.__dict__.get("saved_state", {})

    @property
    def name(self) -> str:
        name = self.state.get("name")
        return name if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH else "TensorFlow network"

    def __repr__(self):
        return f"TFNetwork({self.name!r})"


class LoadedTensor(torch.Tensor):
    """A tensor rebuilt from a pickle. torch.Tensor.__setstate__ (what pickle's BUILD would call)
    runs `set_` with any size and stride the file gives, undoing the checks of rebuild_tensor, so
    a loaded tensor refuses it; otherwise it is a plain tensor (copy it out, as copy_weights does)."""

    def __setstate__(self, state):
        raise CheckpointError("the file tries to rewrite a tensor after creating it; refusing to load it")


class SafeArray(np.ndarray, metaclass=_Sealed):
    """A numpy array being rebuilt from a pickle: its `__setstate__` (pickle's BUILD) checks the
    dtype and the byte count before numpy reads them."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise CheckpointError("a numpy array in this pickle has an unreadable state; the file is damaged")
        version, shape, dtype, is_fortran, raw = state
        dtype = plain_dtype(dtype)
        shape = _checked_shape(shape, "numpy array")
        if not isinstance(is_fortran, bool) or not isinstance(raw, (bytes, bytearray)):
            raise CheckpointError("a numpy array in this pickle has an unreadable state; the file is damaged")
        _exact_size(len(raw), shape, dtype.itemsize, "numpy array")
        spend_data(len(raw))
        super().__setstate__((version, shape, dtype, is_fortran, raw))


# ---------------------------------------------------------------------------------------------
# What a file may declare, summed against what it holds.

class LoadBudget:
    """Bytes a file's arrays, storages and tensor views may declare: each sum at most the file size."""

    def __init__(self, file_size: int):
        self.file_size = file_size
        self.data_bytes = 0      # storages and numpy arrays: bytes copied out of the file
        self.view_bytes = 0      # tensors: views into those storages

    def spend_data(self, nbytes: int):
        self.data_bytes += nbytes
        if self.data_bytes > self.file_size:
            raise CheckpointError(f"the arrays in this pickle declare more than its {self.file_size:,} bytes; the "
                                  "file is crafted to exhaust memory")

    def spend_view(self, nbytes: int):
        self.view_bytes += nbytes
        if self.view_bytes > self.file_size:
            raise CheckpointError(f"the tensors in this pickle declare more than its {self.file_size:,} bytes; the "
                                  "file is crafted to exhaust memory")


_loads = threading.local()  # .budget: the budget of the load in progress on this thread


def spend_data(nbytes: int):
    """Counts bytes copied out of the file against the budget of the load in progress (if any)."""
    budget = getattr(_loads, "budget", None)
    if budget is not None:  # outside a load (copy.deepcopy of an array we made) there is no file to check against
        budget.spend_data(nbytes)


# ---------------------------------------------------------------------------------------------
# Our versions of the constructors the allow-list names: they validate, then build plain data.

_PLAIN_KINDS = "biuf"  # bool, signed and unsigned integers, floats


def plain_dtype(dtype) -> np.dtype:
    """A fresh numpy dtype equal to `dtype` when it is a plain bool/int/float type. A pickle can
    BUILD fields or byte orders onto a dtype it made, so the one it hands over is never used."""
    if not isinstance(dtype, np.dtype) or dtype.fields is not None or dtype.subdtype is not None \
            or dtype.hasobject or dtype.kind not in _PLAIN_KINDS:
        raise CheckpointError("a numpy array in this pickle has an unsupported dtype (only bool, integer and float "
                              "arrays are read); the file is damaged or crafted")
    order = ">" if dtype.byteorder == ">" else "<"
    try:
        return np.dtype(f"{order}{dtype.kind}{dtype.itemsize}")
    except TypeError:
        raise CheckpointError("a numpy array in this pickle has an unsupported dtype; the file is damaged") from None


def _is_int(value) -> bool:
    return type(value) is int


def _checked_shape(shape, what: str) -> tuple:
    if not (isinstance(shape, (tuple, list)) and len(shape) <= MAX_TENSOR_DIMS
            and all(_is_int(n) and n >= 0 for n in shape)):
        raise CheckpointError(f"a {what} in this pickle has an invalid shape; the file is damaged or crafted")
    return tuple(shape)


def _exact_size(nbytes: int, shape: tuple, itemsize: int, what: str):
    needed = math.prod(shape) * itemsize
    if nbytes != needed:
        raise CheckpointError(f"a {what} in this pickle declares shape {list(shape)} ({needed:,} bytes) but holds "
                              f"{nbytes:,} bytes; the file is damaged or crafted")


def _reconstruct_persistent_obj(meta):
    """Replaces torch_utils.persistence's function, which would exec the module source it carries."""
    if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
        raise CheckpointError("a persistent network object in this pickle has no saved state; the file is damaged "
                              "or not an NVIDIA StyleGAN pickle")
    if not (isinstance(meta.get("type"), str) and meta["type"] == "class"):
        raise CheckpointError(f"unsupported persistent object type {short_text(meta.get('type'))} (NVIDIA pickles "
                              "only store classes); the file is not an NVIDIA StyleGAN pickle")
    class_name = meta.get("class_name")
    if not isinstance(class_name, str) or not class_name.isidentifier() or len(class_name) > MAX_NAME_LENGTH:
        raise CheckpointError("a persistent network object in this pickle has no valid class name; the file is "
                              "damaged")
    _check_plain_keys(meta["state"], f"the saved state of {class_name!r}")
    version = meta.get("version")
    return PersistentObject(class_name, version if _is_int(version) else None, meta["state"])


def _load_storage_from_bytes(data):
    """torch.storage._load_from_bytes would run an unrestricted torch.load."""
    storage = storage_from_legacy_bytes(data)
    spend_data(storage.nbytes)
    return storage


def _check_no_hooks(backward_hooks):
    # Hooks are callables; a checkpoint has none, and calling one would run code.
    if backward_hooks:
        raise CheckpointError("a tensor in this pickle carries backward hooks; refusing to load it")


def rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                   metadata=None):
    """torch._utils._rebuild_tensor(_v2): a view into one of our storages, without hooks or
    metadata, checked to lie inside it with no two elements at one address."""
    if not isinstance(storage, Storage):
        raise CheckpointError("a tensor in this pickle does not point at a storage; the file is damaged")
    size = _checked_shape(size, "tensor")
    if not (_is_int(storage_offset) and storage_offset >= 0 and isinstance(stride, (tuple, list))
            and len(stride) == len(size) and all(_is_int(s) for s in stride)):
        raise CheckpointError("a tensor in this pickle has an invalid offset or stride; the file is damaged")
    _check_no_hooks(backward_hooks)
    if metadata:
        raise CheckpointError("a tensor in this pickle carries extra metadata; refusing to load it")
    flat = storage.flat
    numel = math.prod(size)
    if numel:
        # Non-overlapping: sorted by stride, each stride passes the extent of the ones below it.
        reach = 0
        for n, s in sorted(((n, s) for n, s in zip(size, stride) if n > 1), key=lambda pair: pair[1]):
            if s <= reach:
                raise CheckpointError("a tensor in this pickle has a zero or overlapping stride; the file is "
                                      "crafted")
            reach += (n - 1) * s
        if storage_offset + reach >= flat.numel():
            raise CheckpointError("a tensor in this pickle reaches past the end of its storage; the file is damaged")
    budget = getattr(_loads, "budget", None)
    if budget is not None:
        budget.spend_view(numel * flat.element_size())
    view = flat.as_strided(size, stride, storage_offset) if numel else flat.new_empty(size)
    return view.as_subclass(LoadedTensor)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    """torch._utils._rebuild_parameter(_with_state): we keep the plain tensor (weights are copied out)."""
    if not isinstance(data, torch.Tensor):
        raise CheckpointError("a parameter in this pickle does not wrap a tensor; the file is damaged")
    _check_no_hooks(backward_hooks)
    if state:
        raise CheckpointError("a parameter in this pickle carries extra state; refusing to load it")
    return data


class _NumpyArrayType:
    """What the unpickler hands out for `numpy.ndarray`: `_reconstruct`'s subtype argument, and
    the constructor over a byte buffer, allowed only when the buffer holds exactly the array."""

    __slots__ = ()

    def __setattr__(self, name, value):
        raise CheckpointError("the file tries to modify eqviz's numpy.ndarray; refusing to load it")

    def __call__(self, shape, dtype=float, buffer=None, offset=0, strides=None, order=None):
        shape = _checked_shape((shape,) if _is_int(shape) else shape, "numpy array")
        dtype = plain_dtype(dtype)
        if not isinstance(buffer, (bytes, bytearray)) or offset != 0 or strides is not None \
                or order not in (None, "C", "F"):
            raise CheckpointError("a numpy array in this pickle is built over something other than its own bytes; "
                                  "refusing to load it")
        _exact_size(len(buffer), shape, dtype.itemsize, "numpy array")
        spend_data(len(buffer))
        return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order or "C").copy()


_NDARRAY = _NumpyArrayType()


def _numpy_reconstruct(subtype, shape, dtype):
    """numpy's `_reconstruct`: an empty array that BUILD then fills through SafeArray.__setstate__."""
    if subtype is not _NDARRAY:
        raise CheckpointError(f"this pickle asks numpy to build {short_text(subtype)}; only plain arrays are allowed")
    if not (isinstance(shape, tuple) and all(_is_int(n) for n in shape) and math.prod(shape) == 0):
        raise CheckpointError("a numpy array in this pickle starts with an invalid shape; the file is damaged")
    return np.ndarray.__new__(SafeArray, (0,), np.int8)


def _numpy_scalar(dtype, data=None):
    """numpy's `scalar`: one value of a plain dtype from exactly its bytes."""
    dtype = plain_dtype(dtype)
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise CheckpointError("a numpy scalar in this pickle does not hold exactly one value; the file is damaged")
    return np.frombuffer(data, dtype=dtype)[0].copy()


def _numpy_dtype(obj, align=False, copy=False):
    """numpy.dtype for plain type codes; always a new object, so BUILD cannot change numpy's own."""
    if not isinstance(obj, str) or len(obj) > 8 or not isinstance(align, bool) or not isinstance(copy, bool):
        raise CheckpointError("a numpy dtype in this pickle is not a plain type code; the file is damaged or crafted")
    try:
        dtype = np.dtype(obj, align=False, copy=True)
    except TypeError:
        raise CheckpointError(f"a numpy dtype in this pickle has the unknown type code {short_text(obj)}; the file "
                              "is damaged") from None
    plain_dtype(dtype)
    return dtype


def _numpy_frombuffer(buffer, dtype, shape, order):
    """numpy's pickle-protocol-5 array rebuild, always copying exactly the array's bytes."""
    dtype = plain_dtype(dtype)
    shape = _checked_shape(shape, "numpy array")
    if not isinstance(buffer, (bytes, bytearray)) or order not in ("C", "F"):
        raise CheckpointError("a numpy array in this pickle is built over something other than its own bytes; "
                              "refusing to load it")
    _exact_size(len(buffer), shape, dtype.itemsize, "numpy array")
    spend_data(len(buffer))
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy()


def _torch_device(kind, index=None):
    if not (isinstance(kind, str) and len(kind) <= 32 or _is_int(kind)) or not (index is None or _is_int(index)):
        raise CheckpointError("a torch device in this pickle is not a device name; the file is damaged")
    try:
        return torch.device(kind) if index is None else torch.device(kind, index)
    except (RuntimeError, TypeError):
        raise CheckpointError(f"a torch device in this pickle names {short_text(kind)}, which is no device; the file "
                              "is damaged") from None


def _ordered_dict(items=()):
    """collections.OrderedDict: empty (NVIDIA's pickles fill it with SETITEMS) or from name pairs."""
    if not isinstance(items, (list, tuple)) or not all(isinstance(p, tuple) and len(p) == 2 for p in items):
        raise CheckpointError("an OrderedDict in this pickle is built from something other than pairs; the file is "
                              "damaged")
    _check_plain_keys((key for key, _ in items), "an OrderedDict")
    return collections.OrderedDict(items)


def _set_of(kind):
    def build(items=()):
        if not isinstance(items, (list, tuple)) or len(items) > MAX_SET_ITEMS:
            raise CheckpointError(f"a {kind.__name__} in this pickle is built from something other than a short "
                                  "list; the file is damaged")
        _check_plain_keys(items, f"a {kind.__name__}")
        return kind(items)
    build.__name__ = kind.__name__
    return build


_TORCH_DTYPES = ("float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool")


class _SealedFunction:
    """One of our constructors as the unpickler hands it out: callable, but BUILD cannot change
    its defaults or attributes (a plain function would let it)."""

    __slots__ = ("_function",)

    def __init__(self, function):
        object.__setattr__(self, "_function", function)

    def __call__(self, *args):
        return self._function(*args)

    def __setattr__(self, name, value):
        raise CheckpointError(f"the file tries to modify eqviz's {self._function.__name__}; refusing to load it")


# (module, name) -> what the unpickler hands back. numpy 1.x wrote `numpy.core.*`, numpy 2.x writes
# `numpy._core.*`: both mean the same functions.
_ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch", "device"): _torch_device,
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): _set_of(set),
    ("builtins", "frozenset"): _set_of(frozenset),
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy", "ndarray"): _NDARRAY,
}
for _core in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = _numpy_reconstruct
    _ALLOWED[(f"{_core}.multiarray", "scalar")] = _numpy_scalar
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = _numpy_frombuffer
for _name in _TORCH_DTYPES:
    _ALLOWED[("torch", _name)] = getattr(torch, _name)  # immutable; only ever compared
_ALLOWED = {key: _SealedFunction(value) if isinstance(value, types.FunctionType) else value
            for key, value in _ALLOWED.items()}


# Globals of checkpoint families eqviz does not read: a precise message instead of "could run code".
_UNSUPPORTED = {
    ("tfutil", "Network"): "this is a Progressive GAN TensorFlow pickle, which eqviz does not support",
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickler whose globals come only from `_ALLOWED`; anything else is a CheckpointError."""

    def find_class(self, module, name):
        if (module, name) in _UNSUPPORTED:
            raise CheckpointError(_UNSUPPORTED[(module, name)])
        found = _ALLOWED.get((module, name))
        if found is None:
            raise CheckpointError(f"the file refers to '{module[:80]}.{name[:80]}', which no StyleGAN checkpoint "
                                  "or weight file needs; refusing to load it because it could run code")
        return found

    def persistent_load(self, pid):
        raise CheckpointError("the file uses pickle persistent ids (a torch.save archive or another format), "
                              "which StyleGAN network pickles never do")


def unpickle_checked(data, source: str, file=None, unpickler=None, budget_bytes: int | None = None,
                     persistent_ids: bool = False):
    """Unpickles after the opcode scan of `data` (bytes or a read-only mmap of the file), under a
    budget of `budget_bytes` (default len(data)) bytes; reads the stream from `file` when given (the
    same bytes, without a copy of the whole file), else from `data`. `source` names the file in
    error messages. `unpickler` (default SafeUnpickler) makes the unpickler from a stream; with
    `persistent_ids` the scan admits BINPERSID (for an unpickler that resolves them)."""
    unpickler = unpickler or SafeUnpickler
    outer = getattr(_loads, "budget", None)
    _loads.budget = LoadBudget(len(data) if budget_bytes is None else budget_bytes)
    try:
        scan_pickle(data, persistent_ids=persistent_ids)
        return unpickler(io.BytesIO(data) if file is None else file).load()
    except CheckpointError as exc:
        raise CheckpointError(f"{source}: {exc}") from None
    except RecursionError:
        raise CheckpointError(f"{source} nests objects too deeply to be a checkpoint; refusing to load it") from None
    except MemoryError:
        raise CheckpointError(f"{source} asks for more memory than is available; the file is damaged or "
                              "crafted") from None
    except (pickle.UnpicklingError, EOFError, struct.error, ValueError, TypeError, KeyError, IndexError,
            AttributeError, UnicodeDecodeError, OverflowError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"{source} is truncated or corrupt and cannot be read as a pickle "
                              f"({first_line(exc, with_type=True)}); re-download or re-export it") from None
    finally:
        _loads.budget = outer


def safe_load_pickle(file, source: str):
    """Unpickles an open binary file (read whole) through every check of `unpickle_checked`."""
    return unpickle_checked(file.read(), source)


def load_pickle_file(path):
    """The object a pickle file holds, read through every check: regular file only, opcode scan,
    allow-listed and validating constructors, declared sizes against the file size. This is the
    one entry point for any network in an NVIDIA snapshot (G, G_ema, D, ...).

    The scan reads a read-only mapping of the file (it touches only the opcodes, not the weight
    bytes between them); the unpickler then reads the same open file. A file that changes while it
    is read is refused.

    Raises:
        CheckpointError: the path is not a regular file, or the pickle is unsafe or damaged.
    """
    with open_regular_file(path) as f:
        before = os.fstat(f.fileno())
        if before.st_size == 0:
            raise CheckpointError(f"{path} is empty; re-download or re-export the checkpoint")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
            result = unpickle_checked(view, str(path), file=f)
        after = os.fstat(f.fileno())
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise CheckpointError(f"{path} changed while it was being read; load it again once it is complete")
    return result
