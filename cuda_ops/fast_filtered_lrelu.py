"""filtered_lrelu on CPU: polyphase upsampling, an in-place leaky ReLU, polyphase (strided) downsampling.

Same maths as the reference; only the order of the sums differs. The upsampled intermediate
is the one large tensor, so the activation runs in place on it.
"""
import torch

from cuda_ops import fast_upfirdn2d


def filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    """Same arguments as `cuda_ops.filtered_lrelu._filtered_lrelu_ref` (already parsed and validated)."""
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, fu, fd, b))
    if b is not None:
        x = x + b.reshape(1, -1, 1, 1)
    y = fast_upfirdn2d.upfirdn2d(x, fu, up, up, 1, 1, padding, flip_filter, float(up * up))
    if needs_grad:  # fast_upfirdn2d always returns a fresh tensor, so in place is safe otherwise
        y = torch.nn.functional.leaky_relu(y, slope)
    else:
        torch.nn.functional.leaky_relu_(y, slope)
    if gain != 1:
        y = y * gain if needs_grad else y.mul_(gain)
    if clamp is not None:
        y = y.clamp(-clamp, clamp) if needs_grad else y.clamp_(-clamp, clamp)
    return fast_upfirdn2d.upfirdn2d(y, fd, 1, 1, down, down, [0, 0, 0, 0], flip_filter, 1.0)
