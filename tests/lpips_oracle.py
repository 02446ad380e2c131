"""Random LPIPS weights and inputs from a fixed recipe, shared by the tests and by the tool that ran the
real `lpips` package on them (tools/make_lpips_goldens.py, outside the project's environment).

numpy only: each tensor is drawn from RandomState(crc32(its key)), so both sides rebuild the same
numbers without storing 58 MB of VGG16 weights.
"""
import zlib

import numpy as np

# torchvision's VGG16 `features`: (index, in, out) of each 3x3 convolution.
VGG16_CONVS = ((0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256),
               (14, 256, 256), (17, 256, 512), (19, 512, 512), (21, 512, 512), (24, 512, 512), (26, 512, 512),
               (28, 512, 512))
LIN_CHANNELS = (64, 128, 256, 512, 512)
INPUT_SHAPE = (3, 3, 48, 40)  # two batches of this shape, compared pairwise


def _rng(key: str) -> np.random.RandomState:
    return np.random.RandomState(zlib.crc32(key.encode()))


def vgg_state() -> dict[str, np.ndarray]:
    """torchvision key names; He-normal weights, N(0, 0.1) biases (float32)."""
    state = {}
    for index, c_in, c_out in VGG16_CONVS:
        key = f"features.{index}.weight"
        state[key] = _rng(key).normal(0.0, np.sqrt(2 / (9 * c_in)), (c_out, c_in, 3, 3)).astype(np.float32)
        key = f"features.{index}.bias"
        state[key] = _rng(key).normal(0.0, 0.1, (c_out,)).astype(np.float32)
    return state


def lin_state() -> dict[str, np.ndarray]:
    """LPIPS's key names; non-negative weights U(0, 1) like the trained heads (float32)."""
    return {f"lin{k}.model.1.weight": _rng(f"lin{k}").uniform(0.0, 1.0, (1, c, 1, 1)).astype(np.float32)
            for k, c in enumerate(LIN_CHANNELS)}


def inputs() -> tuple[np.ndarray, np.ndarray]:
    """Two batches of images in [-1, 1]: x uniform, y = x plus noise (so distances are small but not 0)."""
    rng = _rng("inputs")
    x = rng.uniform(-1.0, 1.0, INPUT_SHAPE).astype(np.float32)
    y = np.clip(x + 0.3 * rng.normal(0.0, 1.0, INPUT_SHAPE), -1.0, 1.0).astype(np.float32)
    return x, y
