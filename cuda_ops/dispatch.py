"""Resolves an op's `impl=` argument to the path that actually runs: 'ref', 'fast' or 'cuda'."""
import contextlib

import torch

IMPLS = ("auto", "ref", "fast", "cuda")


# What impl='auto' resolves to when forced for a whole process or block (e.g. a benchmark
# switching every op of a generator to 'ref'); None means "choose by device".
_forced_impl = None


def set_default_impl(impl) -> None:
    """Makes every op called with impl='auto' use `impl`; None or 'auto' restores the device choice."""
    global _forced_impl
    if impl is not None and impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS} or None, got {impl!r}")
    _forced_impl = None if impl == "auto" else impl


@contextlib.contextmanager
def default_impl(impl):
    """set_default_impl(impl) for the duration of a with-block, then the previous setting again."""
    previous = _forced_impl
    set_default_impl(impl)
    try:
        yield
    finally:
        set_default_impl(previous)


def choose_impl(impl: str, x: torch.Tensor) -> str:
    """'auto' picks the pycuda kernels for CUDA tensors when they are usable, else the fast PyTorch path."""
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    if impl == "auto" and _forced_impl is not None:
        impl = _forced_impl
    if impl != "auto":
        return impl
    if x.is_cuda:
        from eqviz.cuda_ops import pycuda_kernels  # deferred: never touch the GPU at import time

        if pycuda_kernels.available(x.device):
            return "cuda"
    return "fast"
