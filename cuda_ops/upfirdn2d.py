"""upfirdn2d: upsample by zero insertion, pad or crop, FIR-filter, downsample — with NVIDIA's semantics.

The one resampling primitive behind StyleGAN2's up/downsampling and StyleGAN3's filtered_lrelu.
`upfirdn2d_ref` is the plain definition; `eqviz.cuda_ops.fast_upfirdn2d` computes the same sums in
polyphase form on CPU; `eqviz.cuda_ops.pycuda_kernels.upfirdn2d` runs on the GPU.
"""

import torch
import torch.nn.functional as F

from eqviz.cuda_ops.dispatch import choose_impl, run_chain
from eqviz.cuda_ops.fallback import Unsupported
from eqviz.cuda_ops.geometry import output_size


# ---- Filter construction ---------------------------------------------------------------------------
def setup_filter(f, device=torch.device("cpu"), normalize=True, flip_filter=False, gain=1, separable=None):
    """Turns filter taps into the float32 tensor the ops expect.

    Args:
        f: taps as a scalar, 1-D [taps] or 2-D [fh, fw] array-like; None means the identity [1].
        device: device of the returned tensor.
        normalize: divide by the sum of the taps so that a constant signal keeps its value.
        flip_filter: flip the taps (turns the convolution into a correlation).
        gain: overall gain; a separable filter carries gain**0.5 per pass.
        separable: keep a 1-D filter separable (True) or expand it to its 2-D outer product
            (False); None keeps 1-D filters of 8 taps or more separable, as NVIDIA does.

    Returns:
        float32 tensor [taps] (separable) or [fh, fw].
    """
    if f is None:
        f = 1
    f = torch.as_tensor(f, dtype=torch.float32)
    if f.ndim not in (0, 1, 2):
        raise ValueError(f"filter must be a scalar, 1-D or 2-D, got shape {tuple(f.shape)}")
    if f.numel() == 0:
        raise ValueError("filter must have at least one tap, got an empty array")
    if f.ndim == 0:
        f = f[None]
    if separable is None:
        separable = f.ndim == 1 and f.numel() >= 8
    if f.ndim == 1 and not separable:
        f = torch.outer(f, f)
    if f.ndim != (1 if separable else 2):
        raise ValueError(f"a separable filter must be 1-D, got shape {tuple(f.shape)}")
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f * (gain ** (f.ndim / 2))
    return f.to(device=device)


# ---- Argument parsing (shared with filtered_lrelu) -------------------------------------------------
def parse_scaling(scaling, name="up"):
    """int or [sx, sy] -> (sx, sy), each an int >= 1."""
    if isinstance(scaling, int):
        scaling = [scaling, scaling]
    if not isinstance(scaling, (list, tuple)) or len(scaling) != 2:
        raise ValueError(f"{name} must be an int or [{name}x, {name}y], got {scaling!r}")
    sx, sy = scaling
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in (sx, sy)):
        raise ValueError(f"{name} factors must be ints >= 1, got {scaling!r}")
    return sx, sy


def parse_padding(padding):
    """int, [px, py] or [x0, x1, y0, y1] -> [x0, x1, y0, y1] (negative values crop)."""
    if isinstance(padding, int):
        padding = [padding, padding]
    if not isinstance(padding, (list, tuple)) or len(padding) not in (2, 4):
        raise ValueError(f"padding must be an int, [px, py] or [x0, x1, y0, y1], got {padding!r}")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in padding):
        raise ValueError(f"padding entries must be ints, got {padding!r}")
    if len(padding) == 2:
        px, py = padding
        padding = [px, px, py, py]
    return [int(p) for p in padding]


def filter_size(f):
    """(fw, fh) of a filter tensor; None is the 1x1 identity."""
    if f is None:
        return 1, 1
    return int(f.shape[-1]), int(f.shape[0])


def validate_filter(f, name="f"):
    """A filter is None or a float32 tensor with 1 or 2 dimensions and at least one tap."""
    if f is None:
        return
    if not isinstance(f, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or None, got {type(f).__name__}")
    if f.dtype != torch.float32:
        raise ValueError(f"{name} must be float32 (use setup_filter), got {f.dtype}")
    if f.ndim not in (1, 2) or f.numel() == 0:
        raise ValueError(f"{name} must be 1-D [taps] or 2-D [fh, fw] and non-empty, got shape {tuple(f.shape)}")


def validate_image(x, name="x"):
    """Image batches are floating-point [N, C, H, W] tensors."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-D [N, C, H, W], got shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating-point tensor, got {x.dtype}")


# ---- Public op ---------------------------------------------------------------------------------------
def upfirdn2d(x, f, up=1, down=1, padding=0, flip_filter=False, gain=1, impl="auto"):
    """Upsamples, FIR-filters and downsamples a batch of images (NVIDIA's upfirdn2d semantics).

    Inserts up-1 zeros after every sample, pads (negative values crop) by [x0, x1, y0, y1],
    convolves with `f` and keeps every down-th sample starting at index 0.

    Args:
        x: float tensor [N, C, H, W].
        f: float32 filter, 1-D [taps] (separable: applied along x then y, each pass with
            gain**0.5) or 2-D [fh, fw]; None is the identity.
        up: int or [upx, upy], >= 1.
        down: int or [downx, downy], >= 1.
        padding: int, [px, py] or [x0, x1, y0, y1]; applied after zero insertion.
        flip_filter: False = true convolution (the filter is flipped), True = correlation.
        gain: overall scale of the filter.
        impl: 'auto' | 'ref' | 'fast' | 'cuda'.

    Returns:
        tensor [N, C, (H*upy + y0 + y1 - fh + downy) // downy, (W*upx + x0 + x1 - fw + downx) // downx].
    """
    validate_image(x)
    validate_filter(f)
    upx, upy = parse_scaling(up, "up")
    downx, downy = parse_scaling(down, "down")
    padding = parse_padding(padding)
    fw, fh = filter_size(f)
    out_w = output_size(x.shape[3], upx, downx, padding[0], padding[1], fw)
    out_h = output_size(x.shape[2], upy, downy, padding[2], padding[3], fh)
    if out_w < 1 or out_h < 1:
        raise ValueError(f"upfirdn2d output would be empty ({out_h}x{out_w}) for input {tuple(x.shape)}, "
                         f"filter {tuple(f.shape) if f is not None else None}, up {up}, down {down}, padding {padding}")
    gain, flip_filter = float(gain), bool(flip_filter)

    def cuda():
        from eqviz.cuda_ops import pycuda_kernels

        if upx != upy or downx != downy:
            raise Unsupported("the CUDA kernels take one up/down factor for both axes")
        f_dev = None if f is None else f.to(device=x.device, dtype=torch.float32).contiguous()
        return pycuda_kernels.upfirdn2d(x, f_dev, up=upx, down=downx, padding=padding, flip_filter=flip_filter, gain=gain)

    def fast():
        from eqviz.cuda_ops import fast_upfirdn2d

        return fast_upfirdn2d.upfirdn2d(x, f, upx, upy, downx, downy, padding, flip_filter, gain)

    return run_chain("upfirdn2d", choose_impl(impl, x), {
        "cuda": cuda, "fast": fast, "ref": lambda: upfirdn2d_ref(x, f, upx, upy, downx, downy, padding, flip_filter, gain)})


# ---- Reference: the definition, step by step -------------------------------------------------------
def upfirdn2d_ref(x, f, upx, upy, downx, downy, padding, flip_filter, gain):
    """upfirdn2d on parsed arguments, as its definition reads (zero insertion, pad, convolve, decimate)."""
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    n, c, h, w = x.shape
    x0, x1, y0, y1 = padding

    # Zero insertion: every sample is followed by up-1 zeros along each axis.
    x = x.reshape([n, c, h, 1, w, 1])
    x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1])
    x = x.reshape([n, c, h * upy, w * upx])

    # Positive padding adds zeros, negative padding crops.
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]

    # conv2d correlates, so a true convolution needs the flipped taps.
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat([c, 1, 1, 1]), groups=c)
    else:
        x = F.conv2d(x, f[None, None, None, :].repeat([c, 1, 1, 1]), groups=c)  # along x
        x = F.conv2d(x, f[None, None, :, None].repeat([c, 1, 1, 1]), groups=c)  # along y

    return x[:, :, ::downy, ::downx]


# ---- Wrappers that choose the padding for "same", "up x" and "down x" output sizes ---------------------
def filter2d(x, f, padding=0, flip_filter=False, gain=1, impl="auto"):
    """Filters without resampling; the output has the input's size plus `padding`.

    Args:
        x: float tensor [N, C, H, W].
        f: float32 filter [taps] or [fh, fw]; None is the identity.
        padding: int, [px, py] or [x0, x1, y0, y1] added to the size-preserving padding.
        flip_filter: False = convolution, True = correlation.
        gain: overall scale of the filter.
        impl: 'auto' | 'ref' | 'fast' | 'cuda'.
    """
    x0, x1, y0, y1 = parse_padding(padding)
    validate_filter(f)
    fw, fh = filter_size(f)
    p = [x0 + fw // 2, x1 + (fw - 1) // 2, y0 + fh // 2, y1 + (fh - 1) // 2]
    return upfirdn2d(x, f, padding=p, flip_filter=flip_filter, gain=gain, impl=impl)


def upsample2d(x, f, up=2, padding=0, flip_filter=False, gain=1, impl="auto"):
    """Upsamples by `up`; the output is `up` times the input size plus `padding`.

    Args:
        x: float tensor [N, C, H, W].
        f: float32 interpolation filter [taps] or [fh, fw]; None is the identity.
        up: int or [upx, upy], >= 1.
        padding: int, [px, py] or [x0, x1, y0, y1] added to the size-matching padding.
        flip_filter: False = convolution, True = correlation.
        gain: overall scale; multiplied by upx * upy to keep the signal level.
        impl: 'auto' | 'ref' | 'fast' | 'cuda'.
    """
    upx, upy = parse_scaling(up, "up")
    x0, x1, y0, y1 = parse_padding(padding)
    validate_filter(f)
    fw, fh = filter_size(f)
    p = [x0 + (fw + upx - 1) // 2, x1 + (fw - upx) // 2, y0 + (fh + upy - 1) // 2, y1 + (fh - upy) // 2]
    return upfirdn2d(x, f, up=[upx, upy], padding=p, flip_filter=flip_filter, gain=gain * upx * upy, impl=impl)


def downsample2d(x, f, down=2, padding=0, flip_filter=False, gain=1, impl="auto"):
    """Downsamples by `down`; the output is the input size divided by `down`, plus `padding`.

    Args:
        x: float tensor [N, C, H, W].
        f: float32 anti-aliasing filter [taps] or [fh, fw]; None is the identity.
        down: int or [downx, downy], >= 1.
        padding: int, [px, py] or [x0, x1, y0, y1] added to the size-matching padding.
        flip_filter: False = convolution, True = correlation.
        gain: overall scale of the filter.
        impl: 'auto' | 'ref' | 'fast' | 'cuda'.
    """
    downx, downy = parse_scaling(down, "down")
    x0, x1, y0, y1 = parse_padding(padding)
    validate_filter(f)
    fw, fh = filter_size(f)
    p = [x0 + (fw - downx + 1) // 2, x1 + (fw - downx) // 2, y0 + (fh - downy + 1) // 2, y1 + (fh - downy) // 2]
    return upfirdn2d(x, f, down=[downx, downy], padding=p, flip_filter=flip_filter, gain=gain, impl=impl)
