"""Process-wide settings that make CPU rendering fast on small shared machines. Import before torch.

Two costs dominate a CPU frame besides the arithmetic, and neither is visible in the code:
  - OpenMP workers that spin while waiting: the UI thread and the video encoder share the cores
    with torch, and spinning workers slowed a 2-core machine down many times over (passive waiting
    yields the core instead);
  - page faults: glibc serves every allocation above its mmap threshold (128 KiB at start) with
    fresh pages from the kernel and unmaps them on free, so each frame's feature maps fault in
    anew. Measured on the 64-pixel StyleGAN3-T reference model: ~6,900 faults and ~16 ms of kernel
    time per frame (13% of it); with the threshold raised and trimming off, none. Memory freed by
    one frame is reused by the next, so the resident size settles instead of growing. glibc caps
    the threshold at 32 MiB, and larger blocks (a StyleGAN2 feature map at 256² and 128 channels,
    every map at 1024²) still faulted in each call, up to half the time of the op that first wrote
    them; so no block is mmapped at all: the large ones are reused from the heap like the rest.

EQVIZ_PROCESS_TUNING=0 leaves the process as Python starts it (the benchmarks' baseline runs so).
"""
import ctypes
import ctypes.util
import os

# glibc's mallopt parameters (malloc.h) and the largest mmap threshold it accepts on 64-bit.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_MMAP_THRESHOLD_MAX = 32 * 2**20
_TRIM_THRESHOLD = 2**30


def tune_process() -> bool:
    """Passive OpenMP waiting (unless the user set a policy) and, on glibc, heap reuse for feature-map-
    sized blocks. Returns whether the allocator was tuned (False off glibc: nothing else to do there)."""
    if os.environ.get("EQVIZ_PROCESS_TUNING") == "0":
        return False
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): their allocators differ
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return (bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
            and bool(mallopt(_M_MMAP_MAX, 0)))
