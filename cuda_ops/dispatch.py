"""Resolves an op's `impl=` argument to the path that actually runs: 'ref', 'fast' or 'cuda'."""
import torch

IMPLS = ("auto", "ref", "fast", "cuda")


def choose_impl(impl: str, x: torch.Tensor) -> str:
    """'auto' picks the pycuda kernels for CUDA tensors when they are usable, else the fast PyTorch path."""
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    if impl != "auto":
        return impl
    if x.is_cuda:
        from cuda_ops import pycuda_kernels  # deferred: never touch the GPU at import time

        if pycuda_kernels.available(x.device):
            return "cuda"
    return "fast"
