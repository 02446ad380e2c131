"""bias_act: add a bias along one dimension, apply an activation, scale, clamp — NVIDIA's semantics.

Used by the fully connected and StyleGAN2 conv layers. The activation table (default alpha and
gain per activation) is NVIDIA's; alpha only affects 'lrelu'.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from eqviz.cuda_ops.dispatch import choose_impl, run_chain
from eqviz.cuda_ops.fallback import AUTOGRAD_REASON, Unsupported


@dataclass(frozen=True)
class Activation:
    func: Callable  # (x, alpha) -> activated x
    def_alpha: float  # used when alpha is None
    def_gain: float  # used when gain is None; keeps the signal's magnitude for ReLU-like activations


ACTIVATIONS = {
    "linear": Activation(lambda x, alpha: x, 0.0, 1.0),
    "relu": Activation(lambda x, alpha: F.relu(x), 0.0, float(np.sqrt(2))),
    "lrelu": Activation(lambda x, alpha: F.leaky_relu(x, alpha), 0.2, float(np.sqrt(2))),
    "tanh": Activation(lambda x, alpha: torch.tanh(x), 0.0, 1.0),
    "sigmoid": Activation(lambda x, alpha: torch.sigmoid(x), 0.0, 1.0),
    "elu": Activation(lambda x, alpha: F.elu(x), 0.0, 1.0),
    "selu": Activation(lambda x, alpha: F.selu(x), 0.0, 1.0),
    "softplus": Activation(lambda x, alpha: F.softplus(x), 0.0, 1.0),
    "swish": Activation(lambda x, alpha: torch.sigmoid(x) * x, 0.0, float(np.sqrt(2))),
}


def bias_act(x, b=None, dim=1, act="linear", alpha=None, gain=None, clamp=None, impl="auto"):
    """Adds a bias, applies an activation, multiplies by a gain and clamps.

    Args:
        x: float tensor of any shape.
        b: 1-D bias of length x.shape[dim], same dtype as x; None adds nothing.
        dim: the dimension of x that `b` runs along.
        act: one of 'linear', 'relu', 'lrelu', 'tanh', 'sigmoid', 'elu', 'selu', 'softplus', 'swish'.
        alpha: negative slope of 'lrelu'; None = the activation's default (0.2 for lrelu).
        gain: output scale; None = the activation's default (sqrt(2) for relu, lrelu, swish, else 1).
        clamp: clamp the result to [-clamp, clamp] (clamp >= 0); None = no clamping.
        impl: 'auto' | 'ref' | 'fast' | 'cuda'.

    Returns:
        tensor with the shape and dtype of x.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
    if act not in ACTIVATIONS:
        raise ValueError(f"act must be one of {sorted(ACTIVATIONS)}, got {act!r}")
    if b is not None:
        if not 0 <= dim < x.ndim:
            raise ValueError(f"dim must index a dimension of x (shape {tuple(x.shape)}), got {dim}")
        if not isinstance(b, torch.Tensor) or b.ndim != 1 or b.shape[0] != x.shape[dim]:
            shape = tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__
            raise ValueError(f"b must be a 1-D tensor of length x.shape[{dim}] = {x.shape[dim]}, got {shape}")
        if b.dtype != x.dtype:
            raise ValueError(f"b must have the dtype of x ({x.dtype}), got {b.dtype}")
    spec = ACTIVATIONS[act]
    alpha = float(spec.def_alpha if alpha is None else alpha)
    gain = float(spec.def_gain if gain is None else gain)
    if clamp is not None:
        clamp = float(clamp)
        if clamp < 0:
            raise ValueError(f"clamp must be >= 0 or None, got {clamp}")

    def cuda():
        from eqviz.cuda_ops import pycuda_kernels

        b_dev = None if b is None else b.to(device=x.device).contiguous()
        return pycuda_kernels.bias_act(x, b_dev, dim=dim, act=act, alpha=alpha, gain=gain, clamp=clamp)

    return run_chain("bias_act", choose_impl(impl, x), {
        "cuda": cuda, "fast": lambda: bias_act_fast(x, b, dim, spec, alpha, gain, clamp),
        "ref": lambda: bias_act_ref(x, b, dim, spec, alpha, gain, clamp)})


def _bias_shape(x, dim):
    return [-1 if i == dim else 1 for i in range(x.ndim)]


def bias_act_ref(x, b, dim, spec, alpha, gain, clamp):
    """bias_act on resolved arguments, step by step (new tensors, autograd follows)."""
    if b is not None:
        x = x + b.reshape(_bias_shape(x, dim))
    x = spec.func(x, alpha)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def bias_act_fast(x, b, dim, spec, alpha, gain, clamp):
    """The reference's steps, done in place on the one fresh tensor the bias add creates (without a
    bias there is no fresh tensor to reuse, and the reference's steps are the fast ones)."""
    if b is None:
        return bias_act_ref(x, b, dim, spec, alpha, gain, clamp)
    if torch.is_grad_enabled() and (x.requires_grad or b.requires_grad):
        raise Unsupported(AUTOGRAD_REASON)
    y = x + b.reshape(_bias_shape(x, dim))
    if spec is ACTIVATIONS["lrelu"]:
        F.leaky_relu_(y, alpha)
    elif spec is ACTIVATIONS["relu"]:
        F.relu_(y)
    elif spec is not ACTIVATIONS["linear"]:
        y = spec.func(y, alpha)
    if gain != 1:
        y.mul_(gain)
    if clamp is not None:
        y.clamp_(-clamp, clamp)
    return y
