"""upfirdn2d on CPU in polyphase form: the same sums as the reference, without the inserted zeros.

With up-fold zero insertion only every up-th tap meets a non-zero sample, and with down-fold
decimation only every down-th output is kept. Splitting the outputs into phases that share one
pattern of taps turns the op into one strided correlation of the *original* samples per phase
(a short sub-filter each), followed by an interleave of the phases. Separable (1-D) filters get
one such pass per axis. Every correlation is a depthwise conv with one filter per channel; the
1-D passes run on channels-last tensors, where oneDNN's depthwise kernels are ~3x faster than on
NCHW, while a 2-D filter keeps the caller's layout (a layout change would cost more than it saves).
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from eqviz.cuda_ops.fallback import AUTOGRAD_REASON, Unsupported
from eqviz.cuda_ops.geometry import output_size

CHANNELS_LAST_MIN_CHANNELS = 8  # below this the channels-last kernels have too few lanes to fill
# 2-D filters on at most this many channels run every phase in one conv (`_phases_as_channels`);
# measured on 2 cores: a 4x4 filter ties at 8 channels and loses 4x at 16, a 47x47 one wins up to 64.
FOLD_MAX_CHANNELS = 8


# ---- Shared helpers (also used by fast_filtered_lrelu) ------------------------------------------------
def window(x, x_start, x_len, y_start, y_len):
    """x[..., y_start : y_start + y_len, x_start : x_start + x_len], reading zeros outside the tensor."""
    h, w = x.shape[2], x.shape[3]
    pads = [-x_start, x_start + x_len - w, -y_start, y_start + y_len - h]
    if all(p <= 0 for p in pads):  # only cropping: a view
        return x[:, :, y_start: y_start + y_len, x_start: x_start + x_len]
    return F.pad(x, pads)  # negative entries crop


def prepare_input(x, b, x_start, x_len, y_start, y_len):
    """(x + b)[..., y_start : y_start + y_len, x_start : x_start + x_len] in conv layout, zeros outside x.

    One pass over the data: the bias add (or copy) writes straight into the padded buffer.
    """
    n, c, h, w = x.shape
    layout = torch.channels_last if c >= CHANNELS_LAST_MIN_CHANNELS else torch.contiguous_format
    inside_x = (max(x_start, 0), min(x_start + x_len, w))
    inside_y = (max(y_start, 0), min(y_start + y_len, h))
    covered = inside_x == (x_start, x_start + x_len) and inside_y == (y_start, y_start + y_len)
    if b is None and covered and x.is_contiguous(memory_format=layout):
        return x[:, :, y_start: y_start + y_len, x_start: x_start + x_len]
    buf = torch.empty([n, c, y_len, x_len], dtype=x.dtype, device=x.device, memory_format=layout)
    if not covered:
        buf.zero_()
    if inside_x[1] > inside_x[0] and inside_y[1] > inside_y[0]:
        src = x[:, :, inside_y[0]: inside_y[1], inside_x[0]: inside_x[1]]
        dst = buf[:, :, inside_y[0] - y_start: inside_y[1] - y_start, inside_x[0] - x_start: inside_x[1] - x_start]
        if b is None:
            dst.copy_(src)
        else:
            torch.add(src, b.reshape(1, -1, 1, 1), out=dst)
    return buf


def select_taps(f, rows, cols=None):
    """Sub-filter [len(rows), len(cols)] from correlation taps f; index -1 gives a zero tap.

    1-D f: rows=None selects a row vector [1, len(cols)], cols=None a column [len(rows), 1].
    """
    if f.ndim == 1:
        idx = torch.tensor(rows if rows is not None else cols, dtype=torch.long, device=f.device)
        taps = torch.cat([f, f.new_zeros(1)])[idx]
        return taps[:, None] if rows is not None else taps[None, :]
    padded = F.pad(f, [0, 1, 0, 1])  # row/column -1 reads zeros
    iy = torch.tensor(rows, dtype=torch.long, device=f.device)
    ix = torch.tensor(cols, dtype=torch.long, device=f.device)
    return padded[iy[:, None], ix[None, :]]


def depthwise_weight(f, rows, cols, channels):
    """conv2d weight [C, 1, kh, kw] applying one sub-filter of f to every channel; None if all its taps are zero."""
    taps = select_taps(f, rows, cols)
    if not bool((taps != 0).any()):
        return None
    return taps.expand(channels, 1, *taps.shape).contiguous()


def depthwise(x, weight, stride=(1, 1), padding=(0, 0)):
    """Correlates every channel of x [N, C, H, W] with its filter in weight [C, 1, kh, kw]; padding = zeros (y, x)."""
    if weight.shape[2] * weight.shape[3] == 1:  # one tap: a scaled (strided) copy, no conv needed
        if any(padding):
            x = F.pad(x, [padding[1], padding[1], padding[0], padding[0]])
        return x[:, :, :: stride[0], :: stride[1]] * weight[:1, 0, 0, 0]
    return F.conv2d(x, weight, stride=stride, padding=padding, groups=x.shape[1])


def conv_window(x, x_start, x_len, y_start, y_len):
    """Like `window`, but leaves the symmetric part of the zero padding to conv2d: (tensor, (pad_y, pad_x)).

    conv2d pads inside its kernel for free; F.pad would write a whole new tensor first.
    """
    h, w = x.shape[2], x.shape[3]
    lo_x, hi_x = -x_start, x_start + x_len - w
    lo_y, hi_y = -y_start, y_start + y_len - h
    pad_x, pad_y = max(0, min(lo_x, hi_x)), max(0, min(lo_y, hi_y))
    rest = [lo_x - pad_x, hi_x - pad_x, lo_y - pad_y, hi_y - pad_y]
    if any(rest):
        x = window(x, -rest[0], w + rest[0] + rest[1], -rest[2], h + rest[2] + rest[3])
    return x, (pad_y, pad_x)


# ---- Polyphase plan for one axis ---------------------------------------------------------------------
@dataclass(frozen=True)
class AxisPlan:
    """How one axis of upfirdn2d maps onto `phases` strided correlations of the input samples."""

    out_len: int  # samples the op produces along this axis
    phases: int  # consecutive outputs that use different taps; the pattern then repeats
    stride: int  # input samples between two outputs of the same phase
    start: int  # input index (may be negative: zeros) under tap 0 of every phase's first output
    taps: int  # length of the zero-aligned sub-filters
    steps: int  # outputs per phase computed (ceil(out_len / phases))
    tap_index: tuple  # per phase: indices into the correlation taps, -1 where the sub-filter is zero


def plan_axis(in_len, up, down, pad0, pad1, taps):
    """Output j takes correlation tap k from zero-inserted position j*down + k - pad0; only multiples of up hold samples."""
    out_len = output_size(in_len, up, down, pad0, pad1, taps)
    g = math.gcd(up, down)
    phases, stride = up // g, down // g
    firsts = []  # per phase: (input index under its first non-zero tap, that tap's index)
    for j0 in range(phases):
        t0 = j0 * down - pad0
        k0 = (-t0) % up
        firsts.append(((t0 + k0) // up, k0))
    start = min(i0 for i0, _ in firsts)
    width = max(1, max(i0 - start + len(range(k0, taps, up)) for i0, k0 in firsts))
    tap_index = []
    for i0, k0 in firsts:
        row = [-1] * width
        for a, k in enumerate(range(k0, taps, up)):
            row[i0 - start + a] = k
        tap_index.append(tuple(row))
    steps = -(-out_len // phases)
    return AxisPlan(out_len, phases, stride, start, width, steps, tuple(tap_index))


def write_interleaved(out, grid):
    """Writes a phase grid [py][px] of [N, C, sy, sx] tensors into out, phase (j, i) at out[..., j::py, i::px]."""
    py, px = len(grid), len(grid[0])
    for j, row in enumerate(grid):
        for i, phase in enumerate(row):
            dst = out[:, :, j::py, i::px]
            dst.copy_(phase[:, :, : dst.shape[2], : dst.shape[3]])


# ---- The op ----------------------------------------------------------------------------------------------
def upfirdn2d(x, f, upx, upy, downx, downy, padding, flip_filter, gain):
    """Same arguments as `eqviz.cuda_ops.upfirdn2d.upfirdn2d_ref` (already parsed and validated).

    Writes into preallocated buffers, which autograd cannot follow: when a gradient is needed it
    says so (`Unsupported`) and the op's dispatcher runs the reference.
    """
    if torch.is_grad_enabled() and (x.requires_grad or (f is not None and f.requires_grad)):
        raise Unsupported(AUTOGRAD_REASON)
    f = correlation_taps(f, gain, flip_filter, x)
    x0, x1, y0, y1 = padding
    px = plan_axis(x.shape[3], upx, downx, x0, x1, f.shape[-1])
    py = plan_axis(x.shape[2], upy, downy, y0, y1, f.shape[0])
    if f.ndim == 2:
        # One 2-D pass: keep the caller's layout and let conv2d do the symmetric zero padding.
        x, pad = conv_window(x, px.start, window_len(px), py.start, window_len(py))
        if x.shape[1] <= FOLD_MAX_CHANNELS and px.phases * py.phases > 1:
            return _phases_as_channels(x, f, px, py, pad)
        weights, c = PhaseWeights(f), x.shape[1]
        grid = [[_phase(x, weights(ty, tx, c), (py.stride, px.stride), (py.taps, px.taps), pad)
                 for tx in px.tap_index] for ty in py.tap_index]
        return assemble(grid, py.out_len, px.out_len)
    x = prepare_input(x, None, px.start, window_len(px), py.start, window_len(py))
    return resample(x, PhaseWeights(f), px, py)


def correlation_taps(f, gain, flip_filter, x):
    """Filter (None = identity) scaled as upfirdn2d does (gain**(ndim/2)) and flipped into correlation taps."""
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    f = (f * (gain ** (f.ndim / 2))).to(device=x.device, dtype=x.dtype)
    return f if flip_filter else f.flip(list(range(f.ndim)))


def window_len(plan):
    """Input samples (zeros included) that a plan reads from its start."""
    return (plan.steps - 1) * plan.stride + plan.taps


class PhaseWeights:
    """conv2d weights of the sub-filters of f, built once per tap pattern and channel count (None = all zero)."""

    def __init__(self, f):
        self.f, self._cache = f, {}

    def __call__(self, rows, cols, channels):
        key = (rows, cols, channels)
        if key not in self._cache:
            self._cache[key] = depthwise_weight(self.f, rows, cols, channels)
        return self._cache[key]


def resample(x, weights, px, py):
    """upfirdn2d of an input already cut to the plans' windows: one depthwise pass per phase, interleaved."""
    c = x.shape[1]
    if weights.f.ndim == 1:
        along_x = [[_phase(x, weights(None, t, c), (1, px.stride), (1, px.taps)) for t in px.tap_index]]
        x = assemble(along_x, x.shape[2], px.out_len)
        grid = [[_phase(x, weights(t, None, c), (py.stride, 1), (py.taps, 1))] for t in py.tap_index]
    else:
        grid = [[_phase(x, weights(ty, tx, c), (py.stride, px.stride), (py.taps, px.taps)) for tx in px.tap_index]
                for ty in py.tap_index]
    return assemble(grid, py.out_len, px.out_len)


def assemble(grid, out_h, out_w):
    """The interleaved phase grid as one [N, C, out_h, out_w] tensor (the phase itself when there is one)."""
    first = grid[0][0]
    if len(grid) * len(grid[0]) == 1 and first.shape[2:] == (out_h, out_w):
        return first
    layout = torch.channels_last if first.is_contiguous(memory_format=torch.channels_last) and first.shape[1] > 1 \
        else torch.contiguous_format
    out = torch.empty([first.shape[0], first.shape[1], out_h, out_w], dtype=first.dtype, device=first.device,
                      memory_format=layout)
    write_interleaved(out, grid)
    return out


def _phases_as_channels(x, f, px, py, pad):
    """Every phase of a 2-D filter as one output channel of a single correlation, the image channels
    folded into the batch, then interleaved by a reshape. On a few channels (RGB images under the
    equivariance metric's 47x47 filter, StyleGAN2's 4x4 image upsampling) one conv with up^2 outputs
    beats up^2 depthwise convs several times over; on hundreds of channels it is slower."""
    n, c, h, w = x.shape
    weight = torch.stack([select_taps(f, ty, tx) for ty in py.tap_index for tx in px.tap_index])
    y = F.conv2d(x.reshape(n * c, 1, h, w), weight[:, None], stride=(py.stride, px.stride), padding=pad)
    sy, sx = y.shape[2], y.shape[3]
    y = y.reshape(n, c, py.phases, px.phases, sy, sx).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c, sy * py.phases, sx * px.phases)[:, :, :py.out_len, :px.out_len]


def _phase(x, weight, stride, size, padding=(0, 0)):
    """One output phase: a depthwise correlation, or zeros where the phase meets no taps at all."""
    if weight is None:
        h = (x.shape[2] + 2 * padding[0] - size[0]) // stride[0] + 1
        w = (x.shape[3] + 2 * padding[1] - size[1]) // stride[1] + 1
        return x.new_zeros([x.shape[0], x.shape[1], h, w])
    return depthwise(x, weight, stride, padding)
