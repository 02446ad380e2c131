"""Resolves an op's `impl=` argument to the path that runs, and owns the fallback chain.

Chain: CUDA kernels (the fused kernel, else the generic one: pycuda_kernels picks) -> the fast
PyTorch path -> the reference. A path that cannot take an input raises `Unsupported`; `run_chain`
then steps down, saying why once per op and reason, and is never silently wrong.
"""
import contextlib

import torch

from eqviz.cuda_ops.fallback import Unsupported, warn_once

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


CHAIN = ("cuda", "fast", "ref")
PATH_NAMES = {"cuda": "the CUDA kernels", "fast": "the PyTorch fast path", "ref": "the PyTorch reference"}


def run_chain(op: str, impl: str, paths: dict):
    """Runs paths[impl]() (impl from `choose_impl`), stepping down the chain on `Unsupported`.

    paths: 'cuda' / 'fast' / 'ref' -> a callable with no arguments; 'ref' must take every input."""
    for k in range(CHAIN.index(impl), len(CHAIN) - 1):
        try:
            return paths[CHAIN[k]]()
        except Unsupported as exc:
            if not exc.announced:
                warn_once((op, CHAIN[k], str(exc)), f"{op}: {exc}; using {PATH_NAMES[CHAIN[k + 1]]}")
    return paths["ref"]()


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
