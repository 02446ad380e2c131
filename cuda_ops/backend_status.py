"""Which filter-op path runs on a device, and why, decided once per device and said once.

The chain, first usable wins:
  1. the shipped precompiled fatbin (kernels/eqviz_ops.fatbin), loaded from memory;
  2. the same sources compiled by pycuda's SourceModule with the local nvcc (cached on disk),
     when the fatbin holds no code this GPU or driver can run;
  3. the PyTorch fast path, when pycuda, a driver, a GPU or a compiler is missing.
Each step down is a warning naming the reason; the active path is one line from
`describe_backend` (shown by `eqviz info` and the GUI). Nothing happens at import time.
"""
import logging
import shutil
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from eqviz.cache import cache_folder
from eqviz.cuda_ops import cuda_context
from eqviz.errors import first_line

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
FATBIN = KERNEL_DIR / "eqviz_ops.fatbin"
SOURCE_MAIN = "eqviz_ops.cu"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backend:
    """The resolved path for one device."""
    kind: str                      # 'fatbin' | 'nvcc' | 'torch'
    reason: str                    # why, in a few words
    device_index: Optional[int] = None
    module: Any = None             # the loaded pycuda module (kernels only)

    @property
    def uses_kernels(self) -> bool:
        return self.kind != "torch"

    def describe(self) -> str:
        if self.kind == "fatbin":
            return f"filter ops: CUDA kernels from the precompiled fatbin ({self.reason})"
        if self.kind == "nvcc":
            return f"filter ops: CUDA kernels compiled with nvcc ({self.reason})"
        return f"filter ops: PyTorch fast path ({self.reason})"


_lock = threading.Lock()
_backends = {}  # device key -> Backend


def resolve(device) -> Backend:
    """The backend for `device` (torch.device or str), resolved on first use and cached."""
    device = torch.device(device)
    key = str(device) if device.type != "cuda" else f"cuda:{_index(device)}"
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _probe(device)
            _backends[key] = backend
            _announce(backend)
        return backend


def describe_backend(device=None) -> str:
    """One line: which path the filter ops take on `device` (default: the first GPU, else CPU) and why."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return resolve(device).describe()


def clear_cache() -> None:
    """Forget resolved backends (tests; after installing pycuda or a driver in-process)."""
    with _lock:
        _backends.clear()


def _index(device: torch.device) -> int:
    return device.index if device.index is not None else torch.cuda.current_device()


def _announce(backend: Backend) -> None:
    if backend.uses_kernels:
        log.info(backend.describe())
    elif backend.device_index is not None:  # a GPU tensor that could not get kernels: a step down
        warnings.warn(backend.describe(), RuntimeWarning, stacklevel=4)


def _probe(device: torch.device) -> Backend:
    if device.type != "cuda":
        return Backend("torch", f"tensors on {device.type}, not a CUDA device")
    if not torch.cuda.is_available():
        return Backend("torch", "PyTorch sees no CUDA GPU", device_index=device.index or 0)
    index = _index(device)
    try:
        driver = cuda_context.import_driver()
    except ImportError as exc:
        return Backend("torch", f"pycuda or the CUDA driver library is not importable: {exc}", index)
    except Exception as exc:  # pycuda.driver.Error: the driver found no usable GPU
        return Backend("torch", f"the CUDA driver did not initialise: {exc}", index)

    name = torch.cuda.get_device_name(index)
    major, minor = torch.cuda.get_device_capability(index)
    arch = f"sm_{major}{minor}"
    with cuda_context.activate(index):
        try:
            module = driver.module_from_buffer(FATBIN.read_bytes())
            return Backend("fatbin", f"{arch}, {name}", index, module)
        except (OSError, driver.Error) as exc:
            fatbin_problem = f"fatbin unusable on {arch} ({str(exc).strip()})"
            warnings.warn(f"filter ops: {fatbin_problem}; trying nvcc", RuntimeWarning, stacklevel=5)
        if shutil.which("nvcc") is None:
            return Backend("torch", f"{fatbin_problem} and no nvcc on PATH", index)
        try:
            module = _compile_with_nvcc(arch)
            return Backend("nvcc", f"{arch}, {name}; {fatbin_problem}", index, module)
        except Exception as exc:  # pycuda.driver.CompileError or a load error: the last step down
            return Backend("torch", f"{fatbin_problem}; nvcc failed: {first_line(exc)}", index)


def _compile_with_nvcc(arch: str):
    from pycuda.compiler import SourceModule

    folder = cache_folder("kernels")  # read at compile time: $EQVIZ_CACHE may change after import
    folder.mkdir(parents=True, exist_ok=True)
    source = f'#include "{SOURCE_MAIN}"\n'
    return SourceModule(source, no_extern_c=True, include_dirs=[str(KERNEL_DIR)], arch=arch, cache_dir=str(folder))
