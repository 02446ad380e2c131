"""filtered_lrelu on CPU without ever building the upsampled image in one piece.

The upsampled signal v (after the up-FIR) is kept as its up x up polyphase components
v_{ry,rx}[n, m] = v[up*n + ry, up*m + rx]: each is a short correlation of the *input* samples
(no inserted zeros). The leaky ReLU is pointwise, so it runs on each component. The down-FIR
with decimation then reads the components directly: output sample j*down + k of v lies in
component (j*down + k) mod up, so each output phase is a sum of short correlations of the
components, and no zero is ever multiplied and no discarded sample ever computed.

Same maths as the reference; only the order of the sums differs (and the gain, which commutes
with the leaky ReLU for gain >= 0, is applied with the up-filter).
"""
import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from cuda_ops.fast_upfirdn2d import depthwise, depthwise_weight, prepare_input, write_interleaved
from cuda_ops.upfirdn2d import output_size


# ---- Polyphase plan for one axis ---------------------------------------------------------------------
@dataclass(frozen=True)
class AxisPlan:
    """One axis of filtered_lrelu: up-phases computed from the input, output phases from the up-phases."""

    in_start: int  # first input index read (negative: zeros) by the up stage
    in_len: int  # input samples read, zeros included
    up_taps: tuple  # [up][width_up]: indices into the up correlation taps, -1 = zero tap
    mid_len: int  # samples of each up-phase that the down stage reads
    stride: int  # step, in up-phase samples, between two outputs of one output phase
    down_taps: tuple  # [out_phases][up][width_down]: indices into the down correlation taps
    steps: int  # outputs computed per output phase
    out_len: int  # samples the op produces along this axis


def plan_axis(in_len, up, down, pad0, pad1, up_len, down_len):
    """Index bookkeeping for: zero-insert by up, pad, correlate (up_len taps), correlate (down_len taps), keep every down-th."""
    mid_total = output_size(in_len, up, 1, pad0, pad1, up_len)
    out_len = output_size(mid_total, 1, down, 0, 0, down_len)
    g = math.gcd(up, down)
    out_phases, stride = up // g, down // g
    steps = -(-out_len // out_phases)

    # Output j = out_phases*q + jo reads v[j*down + k] = v_r[stride*q + b] with r, b from jo*down + k.
    down_terms = {}  # (jo, r) -> (b of the first tap, [tap indices])
    for jo in range(out_phases):
        for r in range(up):
            k1 = (r - jo * down) % up
            ks = list(range(k1, down_len, up))
            if ks:
                down_terms[jo, r] = ((jo * down + k1 - r) // up, ks)
    mid_start = min(b for b, _ in down_terms.values())
    width_down = max(b - mid_start + len(ks) for b, ks in down_terms.values())
    down_taps = []
    for jo in range(out_phases):
        per_r = []
        for r in range(up):
            row = [-1] * width_down
            if (jo, r) in down_terms:
                b, ks = down_terms[jo, r]
                row[b - mid_start: b - mid_start + len(ks)] = ks
            per_r.append(tuple(row))
        down_taps.append(tuple(per_r))
    mid_len = stride * (steps - 1) + width_down

    # Up-phase r, sample n is v[up*n + r] = sum_a up_taps[k0 + up*a] * x[n + s + a].
    up_terms = {}
    for r in range(up):
        k0 = (pad0 - r) % up
        ks = list(range(k0, up_len, up))
        if ks:
            up_terms[r] = ((r + k0 - pad0) // up, ks)
    s_min = min((s for s, _ in up_terms.values()), default=0)
    width_up = max((s - s_min + len(ks) for s, ks in up_terms.values()), default=1)
    up_taps = []
    for r in range(up):
        row = [-1] * width_up
        if r in up_terms:
            s, ks = up_terms[r]
            row[s - s_min: s - s_min + len(ks)] = ks
        up_taps.append(tuple(row))
    return AxisPlan(in_start=mid_start + s_min, in_len=mid_len + width_up - 1, up_taps=tuple(up_taps),
                    mid_len=mid_len, stride=stride, down_taps=tuple(down_taps), steps=steps, out_len=out_len)


# ---- The op ----------------------------------------------------------------------------------------------
# Work on bands of output rows whose intermediates stay around this size: fresh multi-megabyte
# tensors cost page faults and DRAM traffic that dwarf the filtering itself (measured: ~10x).
BAND_BYTES = 1 << 22


def filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    """Same arguments as `cuda_ops.filtered_lrelu._filtered_lrelu_ref` (already parsed and validated).

    Writes into preallocated buffers, which autograd cannot follow: when a gradient is needed
    the reference runs instead.
    """
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, fu, fd, b)):
        from cuda_ops.filtered_lrelu import _filtered_lrelu_ref

        return _filtered_lrelu_ref(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter)
    # The gain commutes with the leaky ReLU when it is not negative: fold it into the up-filter.
    fold_gain = gain >= 0
    gu = _correlation_taps(fu, float(up * up) * (gain if fold_gain else 1.0), flip_filter, x)
    gd = _correlation_taps(fd, 1.0, flip_filter, x)
    plan_x = plan_axis(x.shape[3], up, down, padding[0], padding[1], gu.shape[-1], gd.shape[-1])
    plan_y = plan_axis(x.shape[2], up, down, padding[2], padding[3], gu.shape[0], gd.shape[0])
    x = prepare_input(x, b, plan_x.in_start, plan_x.in_len, plan_y.in_start, plan_y.in_len)
    n, c = x.shape[:2]
    kernels = prepare_kernels(gu, gd, plan_x, plan_y, c)

    out = torch.empty([n, c, plan_y.out_len, plan_x.out_len], dtype=x.dtype, device=x.device, memory_format=_layout(x))
    out_phases_y = len(plan_y.down_taps)
    width_up, width_down = len(plan_y.up_taps[0]), len(plan_y.down_taps[0][0])
    row_bytes = plan_x.mid_len * c * x.element_size() * plan_y.stride
    band = max(1, BAND_BYTES // max(row_bytes, 1))
    for i in range(n):
        for q0 in range(0, plan_y.steps, band):
            steps = min(band, plan_y.steps - q0)
            band_y = replace(plan_y, mid_len=plan_y.stride * (steps - 1) + width_down, steps=steps)
            r0 = plan_y.stride * q0
            xb = x[i: i + 1, :, r0: r0 + band_y.mid_len + width_up - 1]
            mid = _up_phases(xb, kernels, plan_x, band_y)  # [ry][rx] -> [1, C, mid rows, mid cols]
            for row in mid:
                for v in row:
                    _activate_(v, slope, 1.0 if fold_gain else gain, clamp)
            phases = _down_phases(mid, kernels, plan_x, band_y)  # [joy][jox] -> [1, C, steps, steps_x]
            j0 = out_phases_y * q0
            write_interleaved(out[i: i + 1, :, j0: j0 + out_phases_y * steps], phases)
    return out


def _layout(x):
    return torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and x.shape[1] > 1 \
        else torch.contiguous_format


def _correlation_taps(f, gain, flip_filter, x):
    """Filter (None = identity) scaled as upfirdn2d does (gain**(ndim/2)), flipped into correlation taps."""
    if f is None:
        f = torch.ones([1], dtype=torch.float32, device=x.device)
    f = (f * (gain ** (f.ndim / 2))).to(device=x.device, dtype=x.dtype)
    return f if flip_filter else f.flip(list(range(f.ndim)))


def _activate_(v, slope, gain, clamp):
    """Leaky ReLU, gain and clamp, in place on a fresh intermediate."""
    F.leaky_relu_(v, slope)
    if gain != 1:
        v.mul_(gain)
    if clamp is not None:
        v.clamp_(-clamp, clamp)


# ---- Sub-filters, prepared once per call -------------------------------------------------------------------
@dataclass(frozen=True)
class Kernels:
    """conv2d weights of every sub-filter (None = all taps zero), indexed by phase."""

    up_x: list  # [rx] (separable fu)
    up_y: list  # [ry] (separable fu)
    up_2d: list  # [ry][rx] (2-D fu)
    down_x: list  # [jox][rx] (separable fd)
    down_y: list  # [joy][ry] (separable fd)
    down_2d: list  # [joy][jox][ry][rx] (2-D fd)


def prepare_kernels(gu, gd, plan_x, plan_y, channels):
    def w(f, rows, cols):
        return depthwise_weight(f, rows, cols, channels)

    sep_u, sep_d = gu.ndim == 1, gd.ndim == 1
    return Kernels(
        up_x=[w(gu, None, t) for t in plan_x.up_taps] if sep_u else None,
        up_y=[w(gu, t, None) for t in plan_y.up_taps] if sep_u else None,
        up_2d=None if sep_u else [[w(gu, ty, tx) for tx in plan_x.up_taps] for ty in plan_y.up_taps],
        down_x=[[w(gd, None, t) for t in per_r] for per_r in plan_x.down_taps] if sep_d else None,
        down_y=[[w(gd, t, None) for t in per_r] for per_r in plan_y.down_taps] if sep_d else None,
        down_2d=None if sep_d else [[[[w(gd, ty, tx) for tx in rx_rows] for ty in ry_rows]
                                     for rx_rows in plan_x.down_taps] for ry_rows in plan_y.down_taps],
    )


def _correlate_or_zeros(x, weight, out_h, out_w):
    if weight is None:
        return x.new_zeros([x.shape[0], x.shape[1], out_h, out_w])
    return depthwise(x, weight)


def _up_phases(x, k, plan_x, plan_y):
    """Every up-phase component of the upsampled signal, computed from the (windowed) input."""
    mh, mw = plan_y.mid_len, plan_x.mid_len
    if k.up_2d is not None:
        return [[_correlate_or_zeros(x, wt, mh, mw) for wt in row] for row in k.up_2d]
    along_x = [_correlate_or_zeros(x, wt, x.shape[2], mw) for wt in k.up_x]
    return [[_correlate_or_zeros(a, wt, mh, mw) for a in along_x] for wt in k.up_y]


def _sum_terms(terms, zeros_like):
    """Sum of depthwise correlations (x, weight, stride), accumulated in the first fresh result."""
    total = None
    for x, weight, stride in terms:
        if weight is not None:
            y = depthwise(x, weight, stride)
            total = y if total is None else total.add_(y)
    return total if total is not None else zeros_like()


def _down_phases(mid, k, plan_x, plan_y):
    """Every output phase as a sum of correlations of the up-phase components."""
    sy, sx = plan_y.stride, plan_x.stride
    n, c = mid[0][0].shape[:2]
    new_zeros = mid[0][0].new_zeros
    if k.down_2d is not None:
        return [[_sum_terms([(mid[ry][rx], wt, (sy, sx)) for ry, row in enumerate(per_r) for rx, wt in enumerate(row)],
                            lambda: new_zeros([n, c, plan_y.steps, plan_x.steps]))
                 for per_r in per_jox]
                for per_jox in k.down_2d]
    along_x = [[_sum_terms([(mid_row[rx], wt, (1, sx)) for rx, wt in enumerate(per_rx)],
                           lambda: new_zeros([n, c, plan_y.mid_len, plan_x.steps]))
                for per_rx in k.down_x]
               for mid_row in mid]  # [ry][jox]
    return [[_sum_terms([(along_x[ry][jox], wt, (sy, 1)) for ry, wt in enumerate(per_ry)],
                        lambda: new_zeros([n, c, plan_y.steps, plan_x.steps]))
             for jox in range(len(k.down_x))]
            for per_ry in k.down_y]
