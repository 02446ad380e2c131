"""upfirdn2d on CPU in polyphase form: the same sums as the reference, without the inserted zeros.

With up-fold zero insertion only every up-th tap meets a non-zero sample, and with down-fold
decimation only every down-th output is kept. Splitting the outputs into phases that share one
pattern of taps turns the whole op into one strided correlation of the *original* samples with
`phases` short sub-filters (stacked as output channels), followed by an interleave of the phases.
Separable (1-D) filters get one such pass per axis.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cuda_ops.upfirdn2d import output_size


# ---- Polyphase plan for one axis ---------------------------------------------------------------------
@dataclass(frozen=True)
class AxisPlan:
    """How one axis of upfirdn2d maps onto a strided correlation with `phases` output channels."""

    out_len: int  # samples the op produces along this axis
    phases: int  # consecutive outputs that use different taps; the pattern then repeats
    stride: int  # input samples between two outputs of the same phase
    start: int  # input index (may be negative: zeros) under tap 0 of the first output
    taps: int  # length of the (zero-aligned) sub-filters
    steps: int  # outputs per phase computed (ceil(out_len / phases))
    tap_index: tuple  # per phase: indices into the correlation taps, -1 where the sub-filter is zero


def plan_axis(in_len, up, down, pad0, pad1, taps):
    """Output j takes correlation tap k from zero-inserted position j*down + k - pad0; only multiples of up are samples."""
    out_len = output_size(in_len, up, down, pad0, pad1, taps)
    g = math.gcd(up, down)
    phases, stride = up // g, down // g
    firsts = []  # per phase: (input index of its first tap, first tap index)
    for j0 in range(phases):
        t0 = j0 * down - pad0
        k0 = (-t0) % up
        firsts.append(((t0 + k0) // up, k0))
    start = min(i0 for i0, _ in firsts)
    width = max(i0 - start + len(range(k0, taps, up)) for i0, k0 in firsts)
    width = max(width, 1)
    tap_index = []
    for i0, k0 in firsts:
        row = [-1] * width
        for a, k in enumerate(range(k0, taps, up)):
            row[i0 - start + a] = k
        tap_index.append(tuple(row))
    steps = -(-out_len // phases)
    return AxisPlan(out_len, phases, stride, start, width, steps, tuple(tap_index))


def _gather_taps(taps, index_rows):
    """[phases, width] sub-filters from a 1-D tap vector; index -1 means a zero tap."""
    idx = torch.tensor(index_rows, dtype=torch.long, device=taps.device)
    padded = torch.cat([taps, taps.new_zeros(1)])  # index -1 reads the appended zero
    return padded[idx]


def _window(x, dim, start, length):
    """x[..., start : start + length, ...] along `dim`, reading zeros outside the tensor."""
    size = x.shape[dim]
    lo, hi = max(start, 0), min(start + length, size)
    x = x.narrow(dim, lo, max(hi - lo, 0))
    before, after = lo - start, start + length - max(hi, lo)
    if before or after:
        pad = [0, 0] * (x.ndim - 1 - dim) + [before, after]
        x = F.pad(x, pad)
    return x


# ---- Correlation kernels ---------------------------------------------------------------------------------
def _correlate(x, weight, stride):
    """Correlates every channel of x [N, C, H, W] with each of `phases` filters weight [P, kh, kw] -> [N, C, P, H', W']."""
    n, c, h, w = x.shape
    p = weight.shape[0]
    y = F.conv2d(x.reshape(n * c, 1, h, w), weight[:, None], stride=stride)
    return y.reshape(n, c, p, y.shape[2], y.shape[3])


# ---- The op ----------------------------------------------------------------------------------------------
def upfirdn2d(x, f, upx, upy, downx, downy, padding, flip_filter, gain):
    """Same arguments as `cuda_ops.upfirdn2d._upfirdn2d_ref` (already parsed and validated)."""
    if f is None:
        f = torch.ones([1, 1], dtype=torch.float32, device=x.device)
    x0, x1, y0, y1 = padding
    f = (f * (gain ** (f.ndim / 2))).to(device=x.device, dtype=x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))  # correlation taps
    fw, fh = f.shape[-1], f.shape[0]
    plan_x = plan_axis(x.shape[3], upx, downx, x0, x1, fw)
    plan_y = plan_axis(x.shape[2], upy, downy, y0, y1, fh)
    if f.ndim == 1:
        x = _pass_x(x, _gather_taps(f, plan_x.tap_index), plan_x)
        return _pass_y(x, _gather_taps(f, plan_y.tap_index), plan_y)
    return _pass_2d(x, f, plan_x, plan_y)


def _pass_x(x, sub, plan):
    """One polyphase pass along the width; sub [phases, taps]."""
    n, c, h, _ = x.shape
    x = _window(x, 3, plan.start, (plan.steps - 1) * plan.stride + plan.taps)
    y = _correlate(x, sub[:, None, :], (1, plan.stride))  # [N, C, P, H, steps]
    if plan.phases == 1:
        y = y.reshape(n, c, h, plan.steps)
    else:
        y = y.permute(0, 1, 3, 4, 2).reshape(n, c, h, plan.steps * plan.phases)
    return y[..., : plan.out_len]


def _pass_y(x, sub, plan):
    """One polyphase pass along the height; sub [phases, taps]."""
    n, c, _, w = x.shape
    x = _window(x, 2, plan.start, (plan.steps - 1) * plan.stride + plan.taps)
    y = _correlate(x, sub[:, :, None], (plan.stride, 1))  # [N, C, P, steps, W]
    if plan.phases == 1:
        y = y.reshape(n, c, plan.steps, w)
    else:
        y = y.transpose(2, 3).reshape(n, c, plan.steps * plan.phases, w)
    return y[:, :, : plan.out_len]


def _pass_2d(x, f, plan_x, plan_y):
    """Both axes at once for a non-separable [fh, fw] filter: phases_y * phases_x sub-filters."""
    n, c = x.shape[:2]
    x = _window(x, 3, plan_x.start, (plan_x.steps - 1) * plan_x.stride + plan_x.taps)
    x = _window(x, 2, plan_y.start, (plan_y.steps - 1) * plan_y.stride + plan_y.taps)
    ix = torch.tensor(plan_x.tap_index, dtype=torch.long, device=f.device)  # [Px, kw]
    iy = torch.tensor(plan_y.tap_index, dtype=torch.long, device=f.device)  # [Py, kh]
    padded = F.pad(f, [0, 1, 0, 1])  # index -1 reads the zero row/column
    sub = padded[iy[:, None, :, None], ix[None, :, None, :]]  # [Py, Px, kh, kw]
    py, px = plan_y.phases, plan_x.phases
    y = _correlate(x, sub.reshape(py * px, plan_y.taps, plan_x.taps), (plan_y.stride, plan_x.stride))
    sy, sx = y.shape[3], y.shape[4]
    if py * px > 1:
        y = y.reshape(n, c, py, px, sy, sx).permute(0, 1, 4, 2, 5, 3)
    y = y.reshape(n, c, sy * py, sx * px)
    return y[:, :, : plan_y.out_len, : plan_x.out_len]
