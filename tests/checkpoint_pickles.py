"""Writing checkpoint-shaped pickles in tests, without NVIDIA's code.

Stand-ins registered under NVIDIA's module names make `pickle` emit exactly the globals a real
checkpoint names (`torch_utils.persistence._reconstruct_persistent_obj`, `dnnlib.util.EasyDict`,
`dnnlib.tflib.network.Network`); torch tensors and numpy arrays pickle as they always do.
"""
import contextlib
import pickle
import pickletools
import sys
import types

import numpy as np
import torch

from eqviz.networks.checkpoints import safe_unpickler


def _reconstruct_persistent_obj(meta):
    raise AssertionError("tests only write persistence pickles; eqviz reads them with its own function")


_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"


class EasyDict(dict):
    pass


EasyDict.__module__ = "dnnlib.util"


class Network:
    """dnnlib.tflib.network.Network as pickle sees it: NEWOBJ, then BUILD with the state dict."""

    def __init__(self, state: dict):
        self.state = state

    def __getstate__(self):
        return self.state


Network.__module__ = "dnnlib.tflib.network"


class Persistent:
    """A persistent network module: REDUCE of _reconstruct_persistent_obj on NVIDIA's meta dict."""

    def __init__(self, class_name: str, state: dict, module_src: str = "# module source omitted\n"):
        self.class_name, self.state, self.module_src = class_name, state, module_src

    def __reduce__(self):
        meta = dict(type="class", version=6, module_src=self.module_src, class_name=self.class_name, state=self.state)
        return _reconstruct_persistent_obj, (meta,)


_FAKE_MODULES = {
    "torch_utils": {},
    "torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
    "dnnlib": {},
    "dnnlib.util": {"EasyDict": EasyDict},
    "dnnlib.tflib": {},
    "dnnlib.tflib.network": {"Network": Network},
}


@contextlib.contextmanager
def _nvidia_module_names():
    saved = {name: sys.modules.get(name) for name in _FAKE_MODULES}
    try:
        for name, attrs in _FAKE_MODULES.items():
            module = types.ModuleType(name)
            module.__dict__.update(attrs)
            sys.modules[name] = module
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def dumps(obj, protocol: int = 4) -> bytes:
    with _nvidia_module_names():
        return pickle.dumps(obj, protocol=protocol)


def from_inert(obj):
    """Turns what eqviz read (PersistentObjects, TFNetworks, checked arrays) back into writable
    stand-ins, recursively."""
    if isinstance(obj, safe_unpickler.PersistentObject):
        return Persistent(obj.class_name, from_inert(obj.state))
    if isinstance(obj, safe_unpickler.TFNetwork):
        return Network(from_inert(obj.state))
    if isinstance(obj, dict):
        cls = EasyDict if isinstance(obj, safe_unpickler.EasyDict) else type(obj)
        return cls((key, from_inert(value)) for key, value in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_inert(value) for value in obj)
    if isinstance(obj, np.ndarray):
        return np.array(obj)  # a plain ndarray, as numpy pickles it
    if isinstance(obj, torch.Tensor):
        return obj.as_subclass(torch.Tensor)  # a plain tensor, as torch pickles it
    return obj


def rename_globals(data: bytes, old: str, new: str) -> bytes:
    """The same pickle with every string `old` replaced by `new` (e.g. numpy 2 -> numpy 1 module
    paths). FRAME opcodes are dropped, since their byte counts change; frames are optional."""
    ops = list(pickletools.genops(data))
    out = bytearray()
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        if op.name == "FRAME":
            continue
        if op.name == "SHORT_BINUNICODE" and arg == old:  # protocol 4+: STACK_GLOBAL operands
            encoded = new.encode("utf-8")
            out += b"\x8c" + bytes([len(encoded)]) + encoded
        elif op.name == "GLOBAL" and arg.split(" ")[0] == old:  # protocols 0-3
            out += b"c" + f"{new}\n{arg.split(' ')[1]}\n".encode("utf-8")
        else:
            out += data[pos:end]
    return bytes(out)
