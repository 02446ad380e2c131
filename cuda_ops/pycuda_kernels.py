"""GPU forward kernels for upfirdn2d, bias_act and filtered_lrelu, launched through pycuda.

Callers (the ops' impl='cuda' branches) pass normalised arguments: padding as [x0, x1, y0, y1],
filters as float32 contiguous tensors on x's device or None, resolved alpha/gain. Here we
validate what the kernels assume, pick a kernel from the specialisation tables, size its tiles
and launch it on PyTorch's default stream (see cuda_context).

Fallbacks inside the kernels, one warning per step down (`fallback.warn_once`):
  specialised fused kernel -> generic fused kernel (specialisation missing from the module)
  -> separate generic kernels (the fused tile does not fit in shared memory).
No usable kernels on the device, or an input the kernels do not take, raises `fallback.Unsupported`:
the op's dispatcher (`dispatch.run_chain`) then runs the PyTorch fast path.
"""
import math
import threading

import numpy as np
import torch

from eqviz.cuda_ops import backend_status, cuda_context
from eqviz.cuda_ops.fallback import Unsupported, warn_once
from eqviz.cuda_ops.kernel_params import BIAS_ACT_PARAMS, FILTERED_LRELU_PARAMS, UPFIRDN2D_PARAMS, pack

# float16 tensors run the kernels' _f16 variants: 16-bit loads and stores, float32 arithmetic in
# between (as NVIDIA's half kernels), with the bias and filters kept in float32. bfloat16, and float16
# where the loaded module predates those variants, run the float32 kernels on upcast copies.
HALF_DTYPES = (torch.float16, torch.bfloat16)
HALF_SUFFIX = "_f16"
BLOCK = 256                       # threads per block; kernels are built with __launch_bounds__(256)
SHARED_MEMORY_LIMIT = 48 * 1024   # the default dynamic limit on every supported GPU
TILE_SIZES = (32, 16, 8)          # output tile edges to try, largest first
MAX_GRID_Z = 65535
INT32_MAX = 2**31 - 1

# ---- Specialisation tables -------------------------------------------------------------------
# Key -> kernel name in kernels/*.cu. Anything not listed runs the generic kernel of its kind.

# (up, down, taps, 2-D filter); a 2-D key needs a square [taps, taps] filter.
UPFIRDN2D_KERNELS = {
    (1, 1, 4, True): "upfirdn2d_up1_down1_2d4",      # StyleGAN2 filter2d
    (2, 1, 4, True): "upfirdn2d_up2_down1_2d4",      # StyleGAN2 upsample2d
    (1, 2, 4, True): "upfirdn2d_up1_down2_2d4",      # StyleGAN2 downsample2d
    (1, 1, 12, False): "upfirdn2d_up1_down1_sep12",
    (2, 1, 12, False): "upfirdn2d_up2_down1_sep12",
    (1, 2, 12, False): "upfirdn2d_up1_down2_sep12",
    (4, 1, 24, False): "upfirdn2d_up4_down1_sep24",
}
UPFIRDN2D_GENERIC = {False: "upfirdn2d_generic_sep", True: "upfirdn2d_generic_2d"}

# (up, down, fu taps, fd taps, fu 2-D, fd 2-D).
FILTERED_LRELU_KERNELS = {
    (2, 2, 12, 12, False, False): "filtered_lrelu_up2_down2_sep12_sep12",  # StyleGAN3-T
    (4, 2, 24, 12, False, False): "filtered_lrelu_up4_down2_sep24_sep12",  # StyleGAN3-T, size-doubling layers
    (2, 2, 12, 12, False, True): "filtered_lrelu_up2_down2_sep12_2d12",    # StyleGAN3-R radial down filter
    (4, 2, 24, 12, False, True): "filtered_lrelu_up4_down2_sep24_2d12",
}
FILTERED_LRELU_GENERIC = {
    (False, False): "filtered_lrelu_generic_sep_sep",
    (False, True): "filtered_lrelu_generic_sep_2d",
    (True, False): "filtered_lrelu_generic_2d_sep",
    (True, True): "filtered_lrelu_generic_2d_2d",
}

BIAS_ACT_KERNELS = {act: f"bias_act_{act}" for act in
                    ("linear", "relu", "lrelu", "tanh", "sigmoid", "elu", "selu", "softplus", "swish")}


# ---- Public entry points ---------------------------------------------------------------------

def available(device) -> bool:
    """True when CUDA kernels (fatbin or nvcc-built) are usable on `device`."""
    return backend_status.resolve(device).uses_kernels


def upfirdn2d(x, f, up, down, padding, flip_filter, gain):
    """upfirdn2d on the GPU; x [N, C, H, W] float32 or half, f float32 [taps] / [fh, fw] or None."""
    if x.dtype in HALF_DTYPES and not _native_half(x):
        return upfirdn2d(x.float(), f, up, down, padding, flip_filter, gain).to(x.dtype)
    module = _kernels_for(x)
    _check_image(x, "x", IO_DTYPES)
    f = _filter_or_identity(f, x.device, "f")
    return _launch_upfirdn2d(module, x.detach().contiguous(), f, up, down, padding, flip_filter, gain)


def bias_act(x, b, dim, act, alpha, gain, clamp):
    """bias_act on the GPU; x float32 or half of any shape, b [x.shape[dim]] of x's dtype or None."""
    if x.dtype in HALF_DTYPES and not _native_half(x):
        return bias_act(x.float(), _float32(b), dim, act, alpha, gain, clamp).to(x.dtype)
    module = _kernels_for(x)
    _check_tensor(x, "x", dtypes=IO_DTYPES)
    if b is not None:
        _check_tensor(_float32(b), "b", device=x.device)
    return _launch_bias_act(module, x.detach().contiguous(), None if b is None else _float32(b).detach().contiguous(),
                            dim, act, alpha, gain, clamp)


def filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    """filtered_lrelu on the GPU, fused into one kernel when its tile fits in shared memory."""
    if x.dtype in HALF_DTYPES and not _native_half(x):
        return filtered_lrelu(x.float(), fu, fd, _float32(b), up, down, padding, gain, slope, clamp,
                              flip_filter).to(x.dtype)
    module = _kernels_for(x)
    _check_image(x, "x", IO_DTYPES)
    if b is not None:
        _check_tensor(_float32(b), "b", device=x.device)
    if fu is None and fd is None and up == 1 and down == 1 and not any(padding):
        # No resampling at all (StyleGAN3's ToRGB): exactly bias + leaky ReLU + gain + clamp.
        b = None if b is None else _float32(b).detach().contiguous()
        return _launch_bias_act(module, x.detach().contiguous(), b, 1, "lrelu", slope, gain, clamp)
    fu_taps = _filter_or_identity(fu, x.device, "fu")
    fd_taps = _filter_or_identity(fd, x.device, "fd")
    x = x.detach().contiguous()
    b = None if b is None else _float32(b).detach().contiguous()
    geometry = filtered_lrelu_geometry(fu_taps, fd_taps, up, down)
    if geometry is None:
        warn_once(("filtered_lrelu unfused",),
                   f"filtered_lrelu: filters {tuple(fu_taps.shape)} / {tuple(fd_taps.shape)} with up {up}, down {down} "
                   f"need more than {SHARED_MEMORY_LIMIT // 1024} KB of shared memory per tile; running it as separate "
                   "generic kernels (upfirdn2d, bias_act, upfirdn2d) instead of the fused one")
        return _unfused_filtered_lrelu(module, x, fu_taps, fd_taps, b, up, down, padding, gain, slope, clamp,
                                       flip_filter)
    return _launch_filtered_lrelu(module, geometry, x, fu_taps, fd_taps, b, up, down, padding, gain, slope, clamp,
                                  flip_filter)


# ---- Validation ------------------------------------------------------------------------------

def _kernels_for(x):
    backend = backend_status.resolve(x.device)
    if not backend.uses_kernels:
        raise Unsupported(backend.describe(), announced=True)  # backend_status said it when it resolved
    return backend.module


def _native_half(x) -> bool:
    """True for float16 on a device whose loaded module has the _f16 kernels (all or none: one source)."""
    if x.dtype != torch.float16 or not x.is_cuda:
        return False
    backend = backend_status.resolve(x.device)
    if not backend.uses_kernels:
        return False
    key = (backend.module, "half")
    with _functions_lock:
        if key not in _functions:
            try:
                backend.module.get_function(BIAS_ACT_KERNELS["linear"] + HALF_SUFFIX)
                _functions[key] = True
            except Exception:  # pycuda.driver.LogicError: a module built before the _f16 kernels
                _functions[key] = False
        return _functions[key]


IO_DTYPES = (torch.float32, torch.float16)  # what x and y may be; everything else is float32


def _float32(b):
    """A half bias as the float32 every kernel reads (anything else as given, for the checks to judge)."""
    return b.float() if isinstance(b, torch.Tensor) and b.dtype in HALF_DTYPES else b


def _variant(name, x):
    """The kernel name for x's dtype."""
    return name + HALF_SUFFIX if x.dtype == torch.float16 else name


def _check_tensor(t, name, device=None, dtypes=(torch.float32,)):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in dtypes:
        raise Unsupported(f"{name} is {t.dtype}; the kernels take float32 (and float16 x)")
    if not t.is_cuda or (device is not None and t.device != device):
        raise ValueError(f"{name} must be on {device or 'a CUDA device'}, got {t.device}")
    if t.numel() > INT32_MAX:
        raise Unsupported(f"{name} has {t.numel()} elements, more than the kernels' int32 indexing allows")


def _check_image(x, name, dtypes=(torch.float32,)):
    _check_tensor(x, name, dtypes=dtypes)
    if x.ndim != 4:
        raise ValueError(f"{name} must be [N, C, H, W], got shape {tuple(x.shape)}")


_identity_filters = {}


def _filter_or_identity(f, device, name):
    """The filter as the kernels take it; None becomes a one-tap filter of value 1."""
    if f is None:
        key = str(device)
        if key not in _identity_filters:
            _identity_filters[key] = torch.ones(1, dtype=torch.float32, device=device)
        return _identity_filters[key]
    _check_tensor(f, name, device=device)
    if f.ndim not in (1, 2) or not f.is_contiguous():
        raise ValueError(f"{name} must be a contiguous 1-D or 2-D filter, got shape {tuple(f.shape)}")
    return f.detach()


# ---- Tiling ----------------------------------------------------------------------------------

def _taps(f):
    """(width, height, is 2-D) of a filter; a separable filter has the same taps on both axes."""
    return (f.shape[-1], f.shape[0], True) if f.ndim == 2 else (f.shape[0], f.shape[0], False)


def _staged_extent(tile, taps, up, down):
    """Source samples a tile of `tile` outputs reads: ((tile - 1) * down + taps - 1) // up + 1."""
    return ((tile - 1) * down + taps - 1) // up + 1


def _round4(n):
    return (n + 3) & ~3


def _upfirdn2d_geometry(f, up, down):
    """Tile sizes and shared-memory split for upfirdn2d (largest tile that fits), or None."""
    f_w, f_h, two_d = _taps(f)
    for tile in TILE_SIZES:
        in_w = _staged_extent(tile, f_w, up, down)
        in_h = _staged_extent(tile, f_h, up, down)
        buf0 = in_w * in_h
        buf1 = 0 if two_d else in_h * tile
        shared = 4 * (_round4(f.numel()) + buf0 + buf1)
        if shared <= SHARED_MEMORY_LIMIT:
            return dict(tile_out_w=tile, tile_out_h=tile, tile_in_w=in_w, tile_in_h=in_h,
                        buf0_floats=buf0, buf1_floats=buf1, shared=shared)
    return None


def filtered_lrelu_geometry(fu, fd, up, down):
    """Tile sizes and shared-memory split for the fused kernel (largest tile that fits), or None.

    Buffers per variant (filtered_lrelu.cu): separable up uses buf0 = input then upsampled tile,
    buf1 = x-pass result then x-downsampled tile; 2-D up writes the upsampled tile into buf1 and
    a separable down pass then reuses buf0.
    """
    fu_w, fu_h, fu_2d = _taps(fu)
    fd_w, fd_h, fd_2d = _taps(fd)
    for tile in TILE_SIZES:
        tmp_w = (tile - 1) * down + fd_w
        tmp_h = (tile - 1) * down + fd_h
        in_w = _staged_extent(tmp_w, fu_w, up, 1)
        in_h = _staged_extent(tmp_h, fu_h, up, 1)
        down_x = 0 if fd_2d else tmp_h * tile  # the x-downsampled tile of a separable down pass
        if fu_2d:
            buf0 = max(in_w * in_h, down_x)
            buf1 = tmp_w * tmp_h
        else:
            buf0 = max(in_w * in_h, tmp_w * tmp_h)
            buf1 = max(in_h * tmp_w, down_x)
        shared = 4 * (_round4(fu.numel()) + _round4(fd.numel()) + buf0 + buf1)
        if shared <= SHARED_MEMORY_LIMIT:
            return dict(tile_out_w=tile, tile_out_h=tile, tile_tmp_w=tmp_w, tile_tmp_h=tmp_h,
                        tile_in_w=in_w, tile_in_h=in_h, buf0_floats=buf0, buf1_floats=buf1, shared=shared)
    return None


# ---- Launches --------------------------------------------------------------------------------

_functions = {}
_functions_lock = threading.Lock()


def kernel_function(module, name, generic_name):
    """The kernel `name`, or the generic one (with one warning) if the module lacks it."""
    key = (module, name)  # the module itself, not its id: a reloaded module must not hit stale entries
    with _functions_lock:
        if key not in _functions:
            try:
                _functions[key] = module.get_function(name)
            except Exception as exc:  # pycuda.driver.LogicError: named function not found
                if name == generic_name:
                    raise
                warn_once(("missing kernel", name),
                           f"kernel {name} is not in the loaded module ({exc}); using {generic_name}")
                _functions[key] = _function_unlocked(module, generic_name)
        return _functions[key]


def _function_unlocked(module, name):
    key = (module, name)
    if key not in _functions:
        _functions[key] = module.get_function(name)
    return _functions[key]


def launch_kernel(x, function, params, grid, shared):
    index = x.device.index if x.device.index is not None else torch.cuda.current_device()
    with cuda_context.activate(index), cuda_context.stream_ordered(x.device):
        function(params, block=(BLOCK, 1, 1), grid=grid, shared=shared, stream=None)


def _ptr(t):
    return 0 if t is None else t.data_ptr()


def _grid(out_w, out_h, tile_w, tile_h, planes):
    return (math.ceil(out_w / tile_w), math.ceil(out_h / tile_h), min(planes, MAX_GRID_Z))


def _launch_upfirdn2d(module, x, f, up, down, padding, flip_filter, gain):
    n, c, in_h, in_w = x.shape
    f_w, f_h, two_d = _taps(f)
    out_w = (in_w * up + padding[0] + padding[1] - f_w + down) // down
    out_h = (in_h * up + padding[2] + padding[3] - f_h + down) // down
    y = torch.empty((n, c, out_h, out_w), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    geometry = _upfirdn2d_geometry(f, up, down)
    if geometry is None:
        raise Unsupported(f"filter {tuple(f.shape)} with up {up}, down {down} does not fit in shared memory")
    square = not two_d or f_w == f_h
    name = UPFIRDN2D_KERNELS.get((up, down, f_w, two_d)) if square else None
    generic = UPFIRDN2D_GENERIC[two_d]
    function = kernel_function(module, _variant(name or generic, x), _variant(generic, x))
    shared = geometry.pop("shared")
    params = pack(UPFIRDN2D_PARAMS, x=x.data_ptr(), y=y.data_ptr(), f=f.data_ptr(), num_planes=n * c,
                  in_w=in_w, in_h=in_h, out_w=out_w, out_h=out_h, up=up, down=down,
                  pad_x0=padding[0], pad_y0=padding[2], f_w=f_w, f_h=f_h, flip=int(bool(flip_filter)),
                  filter_scale=gain if two_d else math.sqrt(gain), **geometry)
    launch_kernel(x, function, params, _grid(out_w, out_h, geometry["tile_out_w"], geometry["tile_out_h"], n * c), shared)
    return y


def _launch_bias_act(module, x, b, dim, act, alpha, gain, clamp):
    y = torch.empty_like(x)
    if x.numel() == 0:
        return y
    bias_len = x.shape[dim] if b is not None else 1
    bias_stride = int(np.prod(x.shape[dim + 1:], dtype=np.int64)) if b is not None else 1
    params = pack(BIAS_ACT_PARAMS, x=x.data_ptr(), y=y.data_ptr(), b=_ptr(b), n=x.numel(),
                  bias_len=bias_len, bias_stride=max(bias_stride, 1), alpha=alpha, gain=gain,
                  clamp=-1.0 if clamp is None else clamp)
    function = kernel_function(module, _variant(BIAS_ACT_KERNELS[act], x), _variant(BIAS_ACT_KERNELS[act], x))
    blocks = min(math.ceil(x.numel() / BLOCK), 65536)
    launch_kernel(x, function, params, (blocks, 1, 1), 0)
    return y


def _launch_filtered_lrelu(module, geometry, x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    n, c, in_h, in_w = x.shape
    fu_w, fu_h, fu_2d = _taps(fu)
    fd_w, fd_h, fd_2d = _taps(fd)
    tmp_w = in_w * up + padding[0] + padding[1] - fu_w + 1
    tmp_h = in_h * up + padding[2] + padding[3] - fu_h + 1
    out_w = (tmp_w - fd_w + down) // down
    out_h = (tmp_h - fd_h + down) // down
    y = torch.empty((n, c, out_h, out_w), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    square = (not fu_2d or fu_w == fu_h) and (not fd_2d or fd_w == fd_h)
    name = FILTERED_LRELU_KERNELS.get((up, down, fu_w, fd_w, fu_2d, fd_2d)) if square else None
    generic = FILTERED_LRELU_GENERIC[(fu_2d, fd_2d)]
    function = kernel_function(module, _variant(name or generic, x), _variant(generic, x))
    geometry = dict(geometry)
    shared = geometry.pop("shared")
    params = pack(FILTERED_LRELU_PARAMS, x=x.data_ptr(), y=y.data_ptr(), fu=fu.data_ptr(), fd=fd.data_ptr(),
                  b=_ptr(b), num_planes=n * c, channels=c, in_w=in_w, in_h=in_h, out_w=out_w, out_h=out_h,
                  up=up, down=down, pad_x0=padding[0], pad_y0=padding[2], fu_w=fu_w, fu_h=fu_h,
                  fd_w=fd_w, fd_h=fd_h, flip=int(bool(flip_filter)),
                  fu_scale=float(up) ** (2 if fu_2d else 1), gain=gain, slope=slope,
                  clamp=-1.0 if clamp is None else clamp, **geometry)
    launch_kernel(x, function, params, _grid(out_w, out_h, geometry["tile_out_w"], geometry["tile_out_h"], n * c), shared)
    return y


def _unfused_filtered_lrelu(module, x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    """The definition, one generic kernel per stage."""
    if b is not None:
        x = _launch_bias_act(module, x, b, 1, "linear", 0.0, 1.0, None)
    x = _launch_upfirdn2d(module, x, fu, up, 1, padding, flip_filter, float(up * up))
    x = _launch_bias_act(module, x, None, 1, "lrelu", slope, gain, clamp)
    return _launch_upfirdn2d(module, x, fd, 1, down, [0, 0, 0, 0], flip_filter, 1.0)
