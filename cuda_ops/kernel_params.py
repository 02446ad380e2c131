"""numpy mirrors of the C parameter structs in kernels/eqviz_params.h.

Each kernel takes one struct by value; pycuda passes a structured numpy scalar as those raw
bytes. Offsets are spelled out because numpy's own alignment rules are not CUDA's, and
tests/test_cuda_build.py compiles the header on the host and checks every offset and the size.
"""
import numpy as np


def _struct(fields, itemsize):
    """A structured dtype from (name, numpy type, byte offset) triples."""
    names, formats, offsets = zip(*fields)
    return np.dtype({"names": list(names), "formats": list(formats), "offsets": list(offsets),
                     "itemsize": itemsize})


_PTR, _INT, _FLOAT = np.uint64, np.int32, np.float32

UPFIRDN2D_PARAMS = _struct([
    ("x", _PTR, 0), ("y", _PTR, 8), ("f", _PTR, 16),
    ("num_planes", _INT, 24),
    ("in_w", _INT, 28), ("in_h", _INT, 32),
    ("out_w", _INT, 36), ("out_h", _INT, 40),
    ("up", _INT, 44), ("down", _INT, 48),
    ("pad_x0", _INT, 52), ("pad_y0", _INT, 56),
    ("f_w", _INT, 60), ("f_h", _INT, 64),
    ("flip", _INT, 68),
    ("filter_scale", _FLOAT, 72),
    ("tile_out_w", _INT, 76), ("tile_out_h", _INT, 80),
    ("tile_in_w", _INT, 84), ("tile_in_h", _INT, 88),
    ("buf0_floats", _INT, 92), ("buf1_floats", _INT, 96),
], itemsize=104)

BIAS_ACT_PARAMS = _struct([
    ("x", _PTR, 0), ("y", _PTR, 8), ("b", _PTR, 16),
    ("n", _INT, 24),
    ("bias_len", _INT, 28), ("bias_stride", _INT, 32),
    ("alpha", _FLOAT, 36), ("gain", _FLOAT, 40), ("clamp", _FLOAT, 44),
], itemsize=48)

FILTERED_LRELU_PARAMS = _struct([
    ("x", _PTR, 0), ("y", _PTR, 8), ("fu", _PTR, 16), ("fd", _PTR, 24), ("b", _PTR, 32),
    ("num_planes", _INT, 40), ("channels", _INT, 44),
    ("in_w", _INT, 48), ("in_h", _INT, 52),
    ("out_w", _INT, 56), ("out_h", _INT, 60),
    ("up", _INT, 64), ("down", _INT, 68),
    ("pad_x0", _INT, 72), ("pad_y0", _INT, 76),
    ("fu_w", _INT, 80), ("fu_h", _INT, 84),
    ("fd_w", _INT, 88), ("fd_h", _INT, 92),
    ("flip", _INT, 96),
    ("fu_scale", _FLOAT, 100), ("gain", _FLOAT, 104), ("slope", _FLOAT, 108), ("clamp", _FLOAT, 112),
    ("tile_out_w", _INT, 116), ("tile_out_h", _INT, 120),
    ("tile_tmp_w", _INT, 124), ("tile_tmp_h", _INT, 128),
    ("tile_in_w", _INT, 132), ("tile_in_h", _INT, 136),
    ("buf0_floats", _INT, 140), ("buf1_floats", _INT, 144),
], itemsize=152)

# C struct name -> mirror, for the layout test.
STRUCTS = {
    "Upfirdn2dParams": UPFIRDN2D_PARAMS,
    "BiasActParams": BIAS_ACT_PARAMS,
    "FilteredLReluParams": FILTERED_LRELU_PARAMS,
}


def pack(dtype: np.dtype, **values) -> np.void:
    """One struct value; every field must be given, so a forgotten field cannot pass as zero."""
    missing = set(dtype.names) - set(values)
    extra = set(values) - set(dtype.names)
    if missing or extra:
        raise ValueError(f"struct fields missing {sorted(missing)} / unknown {sorted(extra)}")
    record = np.zeros((), dtype=dtype)
    for name, value in values.items():
        record[name] = value
    return record[()]
