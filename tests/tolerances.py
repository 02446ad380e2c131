"""Shared bound for comparisons with NVIDIA's reference data that are float64 computations rounded
once to float32. The other bounds sit beside their comparisons, each with what NVIDIA's own code
was measured to vary by across CPU code paths (README, Fidelity)."""
import numpy as np


def float32_rounding(expected) -> float:
    """One float32 ulp of the largest |value|. A float64 result (filter design, a 3x3 inverse) that
    another CPU code path moves by a float64 ulp can round to the neighbouring float32; NVIDIA's own
    constructor measured 0 across native AVX-512, ATEN_CPU_CAPABILITY=default, oneDNN at SSE4.1 and
    MKL_CBWR=COMPATIBLE, so this allows exactly that one step and nothing more."""
    return float(np.spacing(np.float32(np.abs(np.asarray(expected)).max())))
