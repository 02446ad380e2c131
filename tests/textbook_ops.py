"""Deliberately plain textbook versions of the filter ops, in float64: the oracle for the fast paths.

No polyphase, no separable passes, no cleverness: insert zeros, pad, convolve densely with the
flipped 2-D filter, keep every down-th sample. Slow and obviously right.
"""
import math

import torch
import torch.nn.functional as F


def upfirdn2d(x, f, up=(1, 1), down=(1, 1), padding=(0, 0, 0, 0), flip_filter=False, gain=1.0):
    """x [N, C, H, W], f [taps] (separable: the outer product) or [fh, fw]; up/down as (x, y) pairs."""
    x = x.double()
    n, c, h, w = x.shape
    upx, upy = up
    downx, downy = down
    x0, x1, y0, y1 = padding
    f = torch.ones([1, 1]) if f is None else f
    f = f.double()
    f2 = torch.outer(f, f) if f.ndim == 1 else f  # a separable filter is its outer product
    f2 = f2 * gain

    # 1. Zero insertion: sample i lands at up*i, everything else is zero.
    z = x.new_zeros([n, c, h * upy, w * upx])
    z[:, :, ::upy, ::upx] = x

    # 2. Pad with zeros, or crop where the padding is negative.
    z = F.pad(z, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    z = z[:, :, max(-y0, 0): z.shape[2] - max(-y1, 0), max(-x0, 0): z.shape[3] - max(-x1, 0)]

    # 3. True convolution = correlation with the flipped filter (flip_filter asks for correlation).
    k = f2 if flip_filter else f2.flip([0, 1])
    y = F.conv2d(z.reshape(n * c, 1, z.shape[2], z.shape[3]), k[None, None])
    y = y.reshape(n, c, y.shape[2], y.shape[3])

    # 4. Keep every down-th sample, starting with the first.
    return y[:, :, ::downy, ::downx]


def filtered_lrelu(x, fu=None, fd=None, b=None, up=1, down=1, padding=(0, 0, 0, 0), gain=math.sqrt(2),
                   slope=0.2, clamp=None, flip_filter=False):
    """Bias, upsample with fu (gain up^2), leaky ReLU * gain, clamp, downsample with fd."""
    x = x.double()
    if b is not None:
        x = x + b.double().reshape(1, -1, 1, 1)
    x = upfirdn2d(x, fu, up=(up, up), padding=padding, flip_filter=flip_filter, gain=up * up)
    x = torch.where(x >= 0, x, x * slope) * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, fd, down=(down, down), flip_filter=flip_filter)


SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805

ACTIVATIONS = {  # name -> (function of x and alpha, default alpha, default gain)
    "linear": (lambda x, a: x, 0.0, 1.0),
    "relu": (lambda x, a: torch.where(x > 0, x, torch.zeros_like(x)), 0.0, math.sqrt(2)),
    "lrelu": (lambda x, a: torch.where(x > 0, x, a * x), 0.2, math.sqrt(2)),
    "tanh": (lambda x, a: (torch.exp(2 * x) - 1) / (torch.exp(2 * x) + 1), 0.0, 1.0),
    "sigmoid": (lambda x, a: 1 / (1 + torch.exp(-x)), 0.0, 1.0),
    "elu": (lambda x, a: torch.where(x > 0, x, torch.exp(x) - 1), 0.0, 1.0),
    "selu": (lambda x, a: SELU_SCALE * torch.where(x > 0, x, SELU_ALPHA * (torch.exp(x) - 1)), 0.0, 1.0),
    "softplus": (lambda x, a: torch.log(1 + torch.exp(x)), 0.0, 1.0),
    "swish": (lambda x, a: x / (1 + torch.exp(-x)), 0.0, math.sqrt(2)),
}


def bias_act(x, b=None, dim=1, act="linear", alpha=None, gain=None, clamp=None):
    """x + b (along dim), activation, times gain, clamped to [-clamp, clamp]."""
    func, def_alpha, def_gain = ACTIVATIONS[act]
    x = x.double()
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.double().reshape(shape)
    x = func(x, def_alpha if alpha is None else alpha) * (def_gain if gain is None else gain)
    return x if clamp is None else x.clamp(-clamp, clamp)
