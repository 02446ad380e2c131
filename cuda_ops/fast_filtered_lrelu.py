"""filtered_lrelu on CPU: polyphase upsampling, in-place leaky ReLU, strided downsampling, in small tiles.

Same maths as the reference; only the order of the sums differs (and the gain, which commutes
with the leaky ReLU for gain >= 0, is applied with the up-filter):
  - the upsampling never multiplies an inserted zero: each of the up phases of the upsampled
    signal is a short correlation of the input samples (`fast_upfirdn2d.resample`);
  - the downsampling never computes a discarded sample: a strided correlation;
  - the upsampled signal, the one large intermediate, only ever exists one tile (a chunk of
    channels x a band of output rows) at a time. Whole, it would be tens to hundreds of MB: every
    fresh allocation of that size costs page faults and a trip through DRAM, which measured
    several times slower than the filtering itself.
"""
import torch
import torch.nn.functional as F

from eqviz.cuda_ops.fast_upfirdn2d import (PhaseWeights, correlation_taps, depthwise, plan_axis, prepare_input,
                                     resample, window, window_len)
from eqviz.cuda_ops.fallback import AUTOGRAD_REASON, Unsupported
from eqviz.cuda_ops.tensor_cache import cached_form
from eqviz.cuda_ops.geometry import output_size

# Bytes of upsampled signal per band: small enough to stay in the caches, large enough that the
# halo (rows recomputed by neighbouring bands) and per-call overheads stay small.
BAND_BYTES = 1 << 22
MIN_BAND_ROWS = 8  # output rows; fewer would recompute the filter halo too often
CHANNEL_CHUNK = 64  # channels per band: a multiple of the SIMD width that keeps wide rows small


def filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    """Same arguments as `eqviz.cuda_ops.filtered_lrelu.filtered_lrelu_ref` (already parsed and validated).

    Writes into preallocated buffers, which autograd cannot follow: when a gradient is needed it
    says so (`Unsupported`) and the op's dispatcher runs the reference.
    """
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, fu, fd, b)):
        raise Unsupported(AUTOGRAD_REASON)
    fold_gain = gain >= 0  # lrelu(g * v) = g * lrelu(v) for g >= 0: scale the up-filter instead
    up_weights = filter_weights(fu, float(up * up) * (gain if fold_gain else 1.0), flip_filter, x)
    down_weights = filter_weights(fd, 1.0, flip_filter, x)
    act_gain = 1.0 if fold_gain else gain
    x0, x1, y0, y1 = padding
    n, c, h, w = x.shape
    (fuh, fuw), (fdh, fdw) = _size(up_weights.f), _size(down_weights.f)

    # Output size, and the part of the upsampled signal that the downsampling reads.
    out_w = output_size(output_size(w, up, 1, x0, x1, fuw), 1, down, 0, 0, fdw)
    out_h = output_size(output_size(h, up, 1, y0, y1, fuh), 1, down, 0, 0, fdh)
    mid_w = down * (out_w - 1) + fdw
    px = _up_plan(w, up, x0, fuw, 0, mid_w)

    x = prepare_input(x, b, px.start, window_len(px), 0, h)  # bias added, cut/padded along x
    out = torch.empty([n, c, out_h, out_w], dtype=x.dtype, device=x.device, memory_format=_layout(x))
    samples, chunk, band = _tiling(x, out_h, down * mid_w)
    for sample in samples:
        for c0 in range(0, c, chunk):
            xc = x[sample, c0: c0 + chunk]
            for q0 in range(0, out_h, band):
                q1 = min(out_h, q0 + band)
                mid_rows = down * (q1 - 1 - q0) + fdh
                py = _up_plan(h, up, y0, fuh, down * q0, mid_rows)
                xb = window(xc, 0, xc.shape[3], py.start, window_len(py))
                v = resample(xb, up_weights, px, py)  # [n, chunk, mid_rows, mid_w], a fresh tensor
                F.leaky_relu_(v, slope)
                if act_gain != 1:
                    v.mul_(act_gain)
                if clamp is not None:
                    v.clamp_(-clamp, clamp)
                out[sample, c0: c0 + chunk, q0:q1] = _downsample(v, _down_passes(down_weights, v.shape[1]), down)
    return out


def filter_weights(f, gain, flip_filter, x):
    """PhaseWeights of f's correlation taps (see `correlation_taps`), kept on f between calls.

    The filters are per-layer buffers that never change, yet rebuilding their scaled, flipped taps
    and depthwise weights cost ~0.3 ms per StyleGAN3 layer and call: ~5% of a 64-px frame.
    """
    def build():
        return PhaseWeights(correlation_taps(f, gain, flip_filter, x))

    if f is None:
        return build()
    return cached_form(f, ("phase weights", gain, flip_filter, x.dtype, x.device), build)


def _tiling(x, out_h, mid_row_len):
    """(sample slices, channels per chunk, output rows per band) of the tiles to work in."""
    n, c = x.shape[:2]
    if x.device.type != "cpu":  # a GPU has the memory and wants few, large launches: one tile
        return [slice(0, n)], c, out_h
    chunk = min(c, CHANNEL_CHUNK)
    band = max(MIN_BAND_ROWS, BAND_BYTES // (mid_row_len * chunk * x.element_size()))
    return [slice(i, i + 1) for i in range(n)], chunk, band


def _size(f):
    return (f.shape[0], f.shape[0]) if f.ndim == 1 else tuple(f.shape)


def _up_plan(in_len, up, pad0, taps, first, count):
    """Plan for upsampled samples [first, first + count) of one axis: upfirdn with the origin moved to `first`."""
    shifted = pad0 - first
    pad1 = count - (in_len * up + shifted - taps + 1)
    return plan_axis(in_len, up, 1, shifted, pad1, taps)


def _layout(x):
    return torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and x.shape[1] > 1 \
        else torch.contiguous_format


def _down_passes(weights, channels):
    """(weight, (kh, kw)) per pass of the down-filter: along x then y when separable, else one 2-D pass."""
    gd = weights.f
    if gd.ndim == 1:
        taps = tuple(range(len(gd)))
        return ((weights(None, taps, channels), (1, len(gd))), (weights(taps, None, channels), (len(gd), 1)))
    rows, cols = tuple(range(gd.shape[0])), tuple(range(gd.shape[1]))
    return ((weights(rows, cols, channels), tuple(gd.shape)),)


def _downsample(v, passes, down):
    """Strided correlation: only the kept samples are computed."""
    stride = (1, down) if len(passes) == 2 else (down, down)
    for weight, (kh, kw) in passes:
        if weight is None:  # an all-zero filter
            h = (v.shape[2] - kh) // stride[0] + 1
            w = (v.shape[3] - kw) // stride[1] + 1
            v = v.new_zeros([v.shape[0], v.shape[1], h, w])
        else:
            v = depthwise(v, weight, stride)
        stride = (down, 1)
    return v
