"""A pickle reader that builds only inert data: it never imports or runs anything a file names.

NVIDIA's checkpoints are pickles, and a pickle may call any importable function while it loads.
`SafeUnpickler.find_class` therefore resolves an allow-list of the globals that real StyleGAN
checkpoints use, each mapped to our own function or class, and refuses everything else before any
of it runs. Network modules come back as `PersistentObject`s and TensorFlow networks as
`TFNetwork`s: plain records of a class name and the saved state, never instances of the original
classes (whose source code the pickle carries; it is never executed).
"""
import collections
import io
import pickle
import re
import struct
import types

import numpy as np
import torch

from eqviz.errors import CheckpointError


# ---------------------------------------------------------------------------------------------
# Inert stand-ins for the classes real checkpoints name.

class _Sealed(type):
    """Metaclass of the classes a pickle can name: pickle's BUILD may setattr on any object it
    holds, so without this a file could rewrite our classes for the rest of the process."""

    def __setattr__(cls, name, value):
        raise CheckpointError(f"the file tries to modify eqviz's {cls.__name__} class; refusing to load it")


class EasyDict(dict, metaclass=_Sealed):
    """dnnlib's EasyDict (a dict with attribute access); its keys stay plain dict items."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class PersistentObject:
    """One network module from an NVIDIA persistence pickle: its class name and saved `__dict__`."""

    def __init__(self, class_name: str, version: int, state: dict):
        self.class_name = class_name
        self.version = version
        self.state = state

    def __repr__(self):
        return f"PersistentObject({self.class_name!r})"

    @property
    def children(self) -> dict:
        """Sub-modules by attribute name (torch.nn.Module's `_modules`), `None` entries dropped."""
        modules = self.state.get("_modules") or {}
        return {name: child for name, child in modules.items() if child is not None}

    def descendants(self):
        """Every nested PersistentObject, depth first (self excluded)."""
        for child in self.children.values():
            if isinstance(child, PersistentObject):
                yield child
                yield from child.descendants()

    def state_tensors(self, prefix: str = "") -> dict:
        """The entries torch's `state_dict()` would list: parameters and persistent buffers."""
        out = {}
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for field in ("_parameters", "_buffers"):
            for name, value in (self.state.get(field) or {}).items():
                if value is not None and name not in skip:
                    out[prefix + name] = value
        for name, child in self.children.items():
            if not isinstance(child, PersistentObject):
                raise CheckpointError(f"sub-module {prefix + name!r} is a {type(child).__name__}, not a network "
                                      "module; the checkpoint is not a StyleGAN network pickle")
            out.update(child.state_tensors(prefix + name + "."))
        return out


class TFNetwork(metaclass=_Sealed):
    """dnnlib.tflib's Network from a legacy TensorFlow pickle: keeps the saved state, runs nothing."""

    def __init__(self):
        self.state = {}

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise CheckpointError("a TensorFlow network in this pickle has no readable state; the file is "
                                  "not a StyleGAN TensorFlow pickle")
        self.state = state

    def __repr__(self):
        return f"TFNetwork({self.state.get('name')!r})"


# ---------------------------------------------------------------------------------------------
# Our versions of the reconstruct functions: they validate their arguments, then build plain data.

def _reconstruct_persistent_obj(meta):
    """Replaces torch_utils.persistence's function, which would exec the module source it carries."""
    if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
        raise CheckpointError("a persistent network object in this pickle has no saved state; the file is "
                              "damaged or not an NVIDIA StyleGAN pickle")
    if meta.get("type") != "class":
        raise CheckpointError(f"unsupported persistent object type {meta.get('type')!r} (NVIDIA pickles only "
                              "store classes); the file is not an NVIDIA StyleGAN pickle")
    class_name = meta.get("class_name")
    if not isinstance(class_name, str):
        raise CheckpointError("a persistent network object in this pickle has no class name; the file is damaged")
    return PersistentObject(class_name, meta.get("version"), meta["state"])


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _load_storage_from_bytes(data):
    """torch.storage._load_from_bytes calls an unrestricted torch.load; we use the weights-only one."""
    if not isinstance(data, (bytes, bytearray)):
        raise CheckpointError("a tensor storage in this pickle is not a byte string; the file is damaged")
    try:
        storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f" (it refers to '{found[1]}')" if found else ""
        raise CheckpointError(f"a tensor storage in this pickle holds something other than weights{what}; "
                              "refusing to load it because it could run code") from None
    except Exception as exc:  # torch reports damaged bytes with many exception types
        raise CheckpointError(f"a tensor storage in this pickle is damaged ({_first_line(exc)}); "
                              "re-download or re-export the checkpoint") from None
    if not isinstance(storage, (torch.storage.TypedStorage, torch.UntypedStorage)):
        raise CheckpointError(f"a tensor storage in this pickle decoded to a {type(storage).__name__}, not a "
                              "storage; the file is damaged or crafted")
    return storage


def _is_int_tuple(value) -> bool:
    return isinstance(value, (tuple, list, torch.Size)) and all(isinstance(v, int) for v in value)


def _check_no_hooks(backward_hooks):
    # Hooks are callables; a checkpoint has none, and calling one would run code.
    if backward_hooks:
        raise CheckpointError("a tensor in this pickle carries backward hooks; refusing to load it")


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None):
    """torch._utils._rebuild_tensor(_v2): a view into a storage, detached, without hooks or metadata."""
    if not isinstance(storage, (torch.storage.TypedStorage, torch.UntypedStorage)):
        raise CheckpointError("a tensor in this pickle does not point at a storage; the file is damaged")
    if not (isinstance(storage_offset, int) and _is_int_tuple(size) and _is_int_tuple(stride)):
        raise CheckpointError("a tensor in this pickle has an invalid shape or stride; the file is damaged")
    _check_no_hooks(backward_hooks)
    dtype = storage.dtype if isinstance(storage, torch.storage.TypedStorage) else torch.uint8
    untyped = storage._untyped_storage if isinstance(storage, torch.storage.TypedStorage) else storage
    itemsize = torch.empty((), dtype=dtype).element_size()
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else storage_offset - 1
    if storage_offset < 0 or any(s < 0 for s in stride) or (last + 1) * itemsize > untyped.nbytes():
        raise CheckpointError("a tensor in this pickle reaches past the end of its storage; the file is damaged")
    return torch.empty((0,), dtype=dtype).set_(untyped, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    """torch._utils._rebuild_parameter(_with_state): we keep the plain tensor (weights are copied out)."""
    if not isinstance(data, torch.Tensor):
        raise CheckpointError("a parameter in this pickle does not wrap a tensor; the file is damaged")
    _check_no_hooks(backward_hooks)
    return data


# numpy's own reconstruct functions, taken from how numpy pickles itself (version independent).
_NP_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_NP_SCALAR = np.float64(0).__reduce__()[0]


def _numpy_reconstruct(subtype, shape, dtype):
    """numpy's `_reconstruct`, restricted to plain ndarrays (a subtype's __new__ could be anything)."""
    if subtype is not np.ndarray:
        raise CheckpointError(f"this pickle asks numpy to build a {subtype!r}; only plain arrays are allowed")
    return _NP_RECONSTRUCT(subtype, shape, dtype)


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype):
        raise CheckpointError("a numpy scalar in this pickle has no dtype; the file is damaged")
    return _NP_SCALAR(dtype, data) if data is not None else _NP_SCALAR(dtype)


def _numpy_frombuffer(buffer, dtype, shape, order):
    """numpy's pickle-protocol-5 array rebuild, always copying out of the pickle's buffer."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise CheckpointError("a numpy array in this pickle has an unsupported dtype; the file is damaged")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy()


def _torch_dtype(name: str):
    value = getattr(torch, name, None)
    return value if isinstance(value, torch.dtype) else None


class _SealedFunction:
    """One of our reconstruct functions as the unpickler hands it out: callable, but BUILD cannot
    change its defaults or attributes (a plain function would let it)."""

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
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("torch", "device"): torch.device,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
}
for _core in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = _numpy_reconstruct
    _ALLOWED[(f"{_core}.multiarray", "scalar")] = _numpy_scalar
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = _numpy_frombuffer
_ALLOWED = {key: _SealedFunction(value) if isinstance(value, types.FunctionType) else value
            for key, value in _ALLOWED.items()}


# Globals of checkpoint families eqviz does not read: a precise message instead of "could run code".
_UNSUPPORTED = {
    ("tfutil", "Network"): "this is a Progressive GAN TensorFlow pickle, which eqviz does not support",
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickler whose globals come only from `_ALLOWED`; anything else is a CheckpointError."""

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is None and module == "torch":
            found = _torch_dtype(name)
        if (module, name) in _UNSUPPORTED:
            raise CheckpointError(_UNSUPPORTED[(module, name)])
        if found is None:
            raise CheckpointError(f"the file refers to '{module}.{name}', which no StyleGAN checkpoint needs; "
                                  "refusing to load it because it could run code")
        return found

    def persistent_load(self, pid):
        raise CheckpointError("the file uses pickle persistent ids (a torch.save archive or another format), "
                              "which StyleGAN network pickles never do")


def safe_load_pickle(file, source: str):
    """Unpickles an open binary file with `SafeUnpickler`; `source` names the file in error messages."""
    try:
        return SafeUnpickler(file).load()
    except CheckpointError as exc:
        raise CheckpointError(f"{source}: {exc}") from None
    except RecursionError:
        raise CheckpointError(f"{source} nests objects too deeply to be a checkpoint; refusing to load it") from None
    except MemoryError:
        raise CheckpointError(f"{source} asks for more memory than is available; the file is damaged or crafted") from None
    except (pickle.UnpicklingError, EOFError, struct.error, ValueError, TypeError, KeyError, IndexError,
            AttributeError, UnicodeDecodeError, OverflowError, RuntimeError) as exc:
        raise CheckpointError(f"{source} is truncated or corrupt and cannot be read as a pickle "
                              f"({_first_line(exc)}); re-download or re-export it") from None
