"""Layers shared by StyleGAN2 and StyleGAN3: equalized-lr fully connected layer, mapping network,
and the Generator shell that joins a mapping network to a synthesis network.

State-dict names follow NVIDIA's (`fc0.weight`, `embed.bias`, `w_avg`, ...) so that their weights
load with strict key and shape checks.
"""
import numpy as np
import torch

from eqviz.cuda_ops.bias_act import bias_act
from eqviz.networks.config import MappingConfig


# ---- Scale each row to unit root-mean-square (StyleGAN, Karras et al. 2019, pixel norm) ------------
def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(torch.nn.Module):
    """Linear layer with equalized learning rate: weights are stored divided by `lr_multiplier`
    and rescaled at run time, so `weight` holds NVIDIA's raw parameter."""

    def __init__(self,
                 in_features: int,              # input width
                 out_features: int,             # output width
                 bias: bool = True,             # learn an additive bias
                 activation: str = "linear",    # bias_act activation name
                 lr_multiplier: float = 1.0,    # equalized-lr multiplier
                 weight_init: float = 1.0,      # std of the initial weights
                 bias_init=0.0,                 # initial bias (scalar or per output)
                 ):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) * (weight_init / lr_multiplier))
        init = np.broadcast_to(np.asarray(bias_init, dtype=np.float32), [out_features]) / np.float32(lr_multiplier)
        self.bias = torch.nn.Parameter(torch.from_numpy(init.astype(np.float32))) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, in] -> [N, out]
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


class MappingNetwork(torch.nn.Module):
    """z (and a class label) -> w, broadcast to `num_ws` copies, optionally truncated towards w_avg."""

    def __init__(self,
                 z_dim: int,                    # latent z width (0 = labels only)
                 c_dim: int,                    # class-label width, 0 = unconditional
                 w_dim: int,                    # output w width
                 num_ws: int,                   # copies of w the synthesis network consumes
                 config: MappingConfig,         # layer count, widths, activation, lr multiplier, w_avg decay
                 ):
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.num_layers = config.num_layers
        self.w_avg_beta = config.w_avg_beta
        embed_features = (w_dim if config.embed_features is None else config.embed_features) if c_dim > 0 else 0
        layer_features = w_dim if config.layer_features is None else config.layer_features
        widths = [z_dim + embed_features] + [layer_features] * (config.num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(config.num_layers):
            layer = FullyConnectedLayer(widths[idx], widths[idx + 1], activation=config.activation,
                                        lr_multiplier=config.lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        if config.w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        """z [N, z_dim] (any float dtype; cast to float32 first), c [N, c_dim] -> ws [N, num_ws, w_dim].

        Truncation: the first `truncation_cutoff` ws (all when None) become lerp(w_avg, w, psi).
        """
        x = None
        if self.z_dim > 0:
            check_shape(z, [None, self.z_dim], "z")
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is conditional: pass a class label c of shape [N, {self.c_dim}]")
            check_shape(c, [None, self.c_dim], "c")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        ws = x.unsqueeze(1).repeat([1, self.num_ws, 1])  # [N, num_ws, w_dim]
        if truncation_psi != 1:
            if self.w_avg_beta is None:
                raise ValueError("this mapping network tracks no w_avg, so it cannot truncate (use truncation_psi=1)")
            ws[:, :truncation_cutoff] = self.w_avg.lerp(ws[:, :truncation_cutoff], truncation_psi)
        return ws

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, num_ws={self.num_ws}"


class GeneratorBase(torch.nn.Module):
    """A mapping network feeding a synthesis network; NVIDIA's public Generator interface.

    Subclasses set `self.synthesis` (with `num_ws`) and call `_finish_init()`.
    """

    supports_input_transform = False

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.z_dim = config.z_dim
        self.c_dim = config.c_dim
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels

    def _finish_init(self):
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=self.z_dim, c_dim=self.c_dim, w_dim=self.w_dim, num_ws=self.num_ws,
                                      config=self.config.mapping)

    @property
    def kind(self) -> str:
        return self.config.kind

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, **synthesis_kwargs) -> torch.Tensor:
        """z [N, z_dim], c [N, c_dim] -> image [N, img_channels, H, W] (float32, roughly [-1, 1])."""
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, **synthesis_kwargs)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, z_dim={self.z_dim}, c_dim={self.c_dim}, w_dim={self.w_dim}, " \
               f"num_ws={self.num_ws}, img_resolution={self.img_resolution}, img_channels={self.img_channels}"


def check_shape(x: torch.Tensor, shape: list, name: str) -> None:
    if x.ndim != len(shape) or any(want is not None and got != want for got, want in zip(x.shape, shape)):
        want = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        raise ValueError(f"{name} must have shape {want}, got {list(x.shape)}")
