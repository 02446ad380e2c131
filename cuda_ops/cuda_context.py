"""pycuda kernels inside PyTorch's CUDA context: one context, one stream order, no syncs.

The scheme, and why each step:

1. PyTorch initialises CUDA first (an allocation on the device). PyTorch's runtime API works in
   the device's *primary* context, created here if it does not exist yet.
2. pycuda retains that same primary context (`Device.retain_primary_context`). Never
   `pycuda.autoinit`: it creates a second context, and memory or modules of one context are
   invalid in the other (illegal addresses, zeros, hundreds of MB more).
3. Every launch pushes the primary context on the calling thread's context stack and pops it
   afterwards (`activate`). pycuda's stack is per thread, so any thread may launch; the push is a
   few microseconds.
4. Kernels launch on the legacy default stream (pycuda's `stream=None`). That is PyTorch's
   default stream, so a kernel runs after every PyTorch op already queued on it and before every
   op queued later: a torch write -> kernel read -> torch read chain needs no synchronisation.
   When the caller has made a PyTorch side stream current (those are non-blocking and do not
   order against stream 0), `stream_ordered` makes the default stream wait for it before the
   launch and the side stream wait for the default stream after it; still no host sync.
5. Tensors go to kernels as raw device pointers of detached, contiguous tensors.

Nothing here runs at import time; the first call of `primary_context` initialises both sides.
tests/test_cuda_kernels.py checks the ordering claim with long unsynchronised chains.
"""
import contextlib
import threading

import torch

_lock = threading.Lock()
_contexts = {}  # device index -> retained pycuda primary context


def import_driver():
    """pycuda.driver, initialised. Raises ImportError without pycuda or libcuda, and
    pycuda.driver.Error when the driver finds no usable GPU; callers fall back on both."""
    import pycuda.driver as driver

    driver.init()
    return driver


def primary_context(device_index: int):
    """The retained primary context of one device, after PyTorch has initialised CUDA there."""
    with _lock:
        ctx = _contexts.get(device_index)
        if ctx is None:
            torch.zeros(1, device=torch.device("cuda", device_index))  # PyTorch creates the context first
            driver = import_driver()
            ctx = driver.Device(device_index).retain_primary_context()
            _contexts[device_index] = ctx
        return ctx


@contextlib.contextmanager
def activate(device_index: int):
    """Makes the device's primary context current in this thread for pycuda calls."""
    ctx = primary_context(device_index)
    ctx.push()
    try:
        yield ctx
    finally:
        ctx.pop()


@contextlib.contextmanager
def stream_ordered(device: torch.device):
    """Orders a legacy-default-stream launch against the caller's current PyTorch stream."""
    current = torch.cuda.current_stream(device)
    default = torch.cuda.default_stream(device)
    if current == default:
        yield
        return
    default.wait_stream(current)
    yield
    current.wait_stream(default)
