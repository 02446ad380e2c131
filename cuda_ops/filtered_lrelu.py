"""filtered_lrelu: StyleGAN3's alias-free nonlinearity — upsample, leaky ReLU, downsample (NVIDIA's semantics).

The leaky ReLU creates frequencies above the signal's band limit; evaluating it at `up` times
the sampling rate and low-pass filtering before decimation keeps them from aliasing.
"""
import math

import torch

from eqviz.cuda_ops.bias_act import ACTIVATIONS, bias_act_ref
from eqviz.cuda_ops.dispatch import choose_impl, run_chain
from eqviz.cuda_ops.geometry import output_size
from eqviz.cuda_ops.upfirdn2d import filter_size, parse_padding, upfirdn2d_ref, validate_filter, validate_image


def filtered_lrelu(x, fu=None, fd=None, b=None, up=1, down=1, padding=0, gain=math.sqrt(2), slope=0.2,
                   clamp=None, flip_filter=False, impl="auto"):
    """Bias, upsampling FIR, leaky ReLU with gain and clamp, downsampling FIR — in one op.

    Equals: x + b -> upfirdn2d(fu, up, padding, gain=up**2) -> leaky_relu(slope) * gain
    -> clamp to [-clamp, clamp] -> upfirdn2d(fd, down).

    Args:
        x: float tensor [N, C, H, W].
        fu: float32 upsampling filter, [taps] (separable) or [fh, fw]; None is the identity.
        fd: float32 downsampling filter, [taps] (separable) or [fh, fw]; None is the identity.
        b: bias [C] with the dtype of x, added before upsampling; None adds nothing.
        up: upsampling factor, int >= 1.
        down: downsampling factor, int >= 1.
        padding: int, [px, py] or [x0, x1, y0, y1], applied to the upsampled signal (negative crops).
        gain: scale applied after the leaky ReLU.
        slope: negative slope of the leaky ReLU (1 makes it linear).
        clamp: clamp after the gain to [-clamp, clamp] (clamp >= 0); None = no clamping.
        flip_filter: False = true convolution with fu/fd, True = correlation.
        impl: 'auto' | 'ref' | 'fast' | 'cuda'.

    Returns:
        tensor [N, C, (H*up + y0 + y1 - fuh - fdh + 1 + down) // down, (W*up + x0 + x1 - fuw - fdw + 1 + down) // down].
    """
    validate_image(x)
    validate_filter(fu, "fu")
    validate_filter(fd, "fd")
    if b is not None:
        if not isinstance(b, torch.Tensor) or b.ndim != 1 or b.shape[0] != x.shape[1]:
            shape = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            raise ValueError(f"b must be a 1-D tensor of length C = {x.shape[1]}, got {shape}")
        if b.dtype != x.dtype:
            raise ValueError(f"b must have the dtype of x ({x.dtype}), got {b.dtype}")
    for name, value in (("up", up), ("down", down)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    padding = parse_padding(padding)
    gain, slope = float(gain), float(slope)
    if clamp is not None:
        clamp = float(clamp)
        if clamp < 0:
            raise ValueError(f"clamp must be >= 0 or None, got {clamp}")
    fuw, fuh = filter_size(fu)
    fdw, fdh = filter_size(fd)
    mid_w = output_size(x.shape[3], up, 1, padding[0], padding[1], fuw)
    mid_h = output_size(x.shape[2], up, 1, padding[2], padding[3], fuh)
    out_w = output_size(mid_w, 1, down, 0, 0, fdw)
    out_h = output_size(mid_h, 1, down, 0, 0, fdh)
    if min(mid_w, mid_h, out_w, out_h) < 1:
        raise ValueError(f"filtered_lrelu output would be empty for input {tuple(x.shape)}, up {up}, down {down}, "
                         f"padding {padding}, fu {None if fu is None else tuple(fu.shape)}, "
                         f"fd {None if fd is None else tuple(fd.shape)}")
    flip_filter = bool(flip_filter)

    def cuda():
        from eqviz.cuda_ops import pycuda_kernels

        def on_device(t):
            return None if t is None else t.to(device=x.device, dtype=torch.float32).contiguous()

        b_dev = None if b is None else b.to(device=x.device).contiguous()
        return pycuda_kernels.filtered_lrelu(x, on_device(fu), on_device(fd), b_dev, up=up, down=down,
                                             padding=padding, gain=gain, slope=slope, clamp=clamp,
                                             flip_filter=flip_filter)

    def fast():
        from eqviz.cuda_ops import fast_filtered_lrelu

        return fast_filtered_lrelu.filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter)

    return run_chain("filtered_lrelu", choose_impl(impl, x), {
        "cuda": cuda, "fast": fast,
        "ref": lambda: filtered_lrelu_ref(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter)})


def filtered_lrelu_ref(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    """filtered_lrelu on parsed arguments, as its definition reads: the reference ops one after another."""
    if b is not None:
        x = bias_act_ref(x, b, 1, ACTIVATIONS["linear"], 0.0, 1.0, None)
    x = upfirdn2d_ref(x, fu, up, up, 1, 1, padding, flip_filter, float(up * up))
    x = bias_act_ref(x, None, 1, ACTIVATIONS["lrelu"], slope, gain, clamp)
    return upfirdn2d_ref(x, fd, 1, 1, down, down, [0, 0, 0, 0], flip_filter, 1.0)
