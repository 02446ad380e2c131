"""StyleGAN2's discriminator (Karras et al. 2020, and the one StyleGAN3 trains with), NVIDIA's layout.

Module names and tensor shapes are those of NVIDIA's `networks_stylegan2.Discriminator` (`b64.conv0.weight`,
`b4.fc.weight`, `mapping.embed.weight`, ...), so their weights load with strict key and shape checks.
Blocks b<res> run from the input resolution down to 8; b4 is the epilogue (minibatch stddev, conv,
two fully connected layers, and the projection onto the mapped class label of a conditional model).
eqviz always evaluates in float32: NVIDIA's FP16 blocks are what its code runs with force_fp32=True.
"""
import numpy as np
import torch
import torch.nn.functional as F

from eqviz.cuda_ops.bias_act import ACTIVATIONS, bias_act
from eqviz.cuda_ops.upfirdn2d import downsample2d, filter_size, setup_filter, upfirdn2d
from eqviz.networks.discriminator_config import DiscriminatorConfig
from eqviz.networks.layers import FullyConnectedLayer, MappingNetwork, check_shape


# ---- Convolution with optional FIR downsampling, as NVIDIA's conv2d_resample with up=1 ------------
def conv2d_downsample(x: torch.Tensor,          # [N, C_in, H, W]
                      w: torch.Tensor,          # [C_out, C_in, k, k], correlation taps
                      f: torch.Tensor,          # low-pass filter used when down > 1 (setup_filter form)
                      down: int = 1,            # integer downsampling factor
                      padding: int = 0,         # padding of the input, all four sides
                      ) -> torch.Tensor:        # [N, C_out, H / down, W / down] for 'same' padding
    """conv(x) followed by FIR low-pass and decimation, evaluated as NVIDIA does: filter first, then a
    strided conv (a 1x1 conv commutes with the filter, so it runs on the small image)."""
    if down == 1:
        return F.conv2d(x, w, padding=padding)
    fw, fh = filter_size(f)
    pad = [padding + (fw - down + 1) // 2, padding + (fw - down) // 2,
           padding + (fh - down + 1) // 2, padding + (fh - down) // 2]
    if w.shape[2] == 1 and w.shape[3] == 1:
        return F.conv2d(upfirdn2d(x, f, down=down, padding=pad), w)
    return F.conv2d(upfirdn2d(x, f, padding=pad), w, stride=down)


class Conv2dLayer(torch.nn.Module):
    """Equalized-lr conv (optionally downsampling 2x) + bias + activation + clamp."""

    def __init__(self,
                 in_channels: int,              # input feature channels
                 out_channels: int,             # output feature channels
                 kernel_size: int,              # square kernel size
                 bias: bool = True,             # learn an additive bias
                 activation: str = "linear",    # bias_act activation name
                 down: int = 1,                 # 1, or 2 for a block's last conv and shortcut
                 resample_filter=(1, 3, 3, 1),  # downsampling FIR taps
                 conv_clamp: float | None = None,  # clamp the output to +-X
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.activation = activation
        self.down = down
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / np.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = ACTIVATIONS[activation].def_gain
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1) -> torch.Tensor:  # [N, C_in, H, W] -> [N, C_out, H/d, W/d]
        x = conv2d_downsample(x, self.weight * self.weight_gain, self.resample_filter, down=self.down,
                              padding=self.padding)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, " \
               f"activation={self.activation}, down={self.down}"


class DiscriminatorBlock(torch.nn.Module):
    """One resolution: [fromrgb] -> conv0 -> conv1 (2x down), with a resnet shortcut or a skip image path."""

    def __init__(self,
                 in_channels: int,              # channels from the block above, 0 = first block
                 tmp_channels: int,             # channels at this resolution
                 out_channels: int,             # channels at half this resolution
                 resolution: int,               # input resolution of this block
                 config: DiscriminatorConfig,   # architecture, activation, filter, clamp
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.img_channels = config.img_channels
        self.architecture = config.architecture
        self.register_buffer("resample_filter", setup_filter(config.resample_filter))
        conv = dict(activation=config.activation, conv_clamp=config.conv_clamp)
        if in_channels == 0 or config.architecture == "skip":
            self.fromrgb = Conv2dLayer(config.img_channels, tmp_channels, kernel_size=1, **conv)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, kernel_size=3, **conv)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, kernel_size=3, down=2,
                                 resample_filter=config.resample_filter, **conv)
        if config.architecture == "resnet":
            self.skip = Conv2dLayer(tmp_channels, out_channels, kernel_size=1, bias=False, down=2,
                                    resample_filter=config.resample_filter)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None):
        """(x [N, C_in, R, R] or None, img [N, C_img, R, R]) -> (x [N, C_out, R/2, R/2], img for the next block)."""
        if x is not None:
            check_shape(x, [None, self.in_channels, self.resolution, self.resolution], "x")
        if self.in_channels == 0 or self.architecture == "skip":
            check_shape(img, [None, self.img_channels, self.resolution, self.resolution], "img")
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=np.sqrt(0.5))
            x = self.conv1(self.conv0(x), gain=np.sqrt(0.5))
            return y + x, img
        return self.conv1(self.conv0(x)), img

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, architecture={self.architecture}"


# ---- Minibatch standard deviation (Karras et al. 2018, section 3) ----------------------------------
def minibatch_stddev(x: torch.Tensor, group_size: int | None, num_channels: int) -> torch.Tensor:
    """Appends `num_channels` maps holding each group's mean per-feature stddev: [N, C, H, W] -> [N, C+F, H, W].

    Groups are samples i, i + N/G, i + 2N/G, ... (NVIDIA's reshape), so N must divide into them.
    """
    n, c, h, w = x.shape
    g = n if group_size is None else min(group_size, n)
    if n % g:
        raise ValueError(f"the discriminator's minibatch-stddev layer needs a batch that is a multiple of {g}, "
                         f"got {n}")
    y = x.reshape(g, -1, num_channels, c // num_channels, h, w)  # [G, n, F, c, H, W]
    y = (y - y.mean(dim=0)).square().mean(dim=0)                # variance over each group
    y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])                   # [n, F]
    y = y.reshape(-1, num_channels, 1, 1).repeat(g, 1, h, w)    # [N, F, H, W]
    return torch.cat([x, y], dim=1)


class MinibatchStdLayer(torch.nn.Module):
    def __init__(self, group_size: int | None, num_channels: int = 1):
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group_size, self.num_channels)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"


class DiscriminatorEpilogue(torch.nn.Module):
    """The 4x4 end: [fromrgb] -> minibatch stddev -> conv -> fc -> out, projected on the mapped label."""

    def __init__(self,
                 in_channels: int,              # channels at 4x4
                 cmap_dim: int,                 # width of the mapped label, 0 = unconditional
                 config: DiscriminatorConfig,   # architecture, activation, clamp, minibatch stddev
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.cmap_dim = cmap_dim
        self.resolution = 4
        self.img_channels = config.img_channels
        self.architecture = config.architecture
        if config.architecture == "skip":
            self.fromrgb = Conv2dLayer(config.img_channels, in_channels, kernel_size=1, activation=config.activation)
        mbstd = config.mbstd_num_channels
        self.mbstd = MinibatchStdLayer(config.mbstd_group_size, mbstd) if mbstd > 0 else None
        self.conv = Conv2dLayer(in_channels + mbstd, in_channels, kernel_size=3, activation=config.activation,
                                conv_clamp=config.conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * 16, in_channels, activation=config.activation)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None) -> torch.Tensor:
        """x [N, C, 4, 4], img (skip only) [N, C_img, 4, 4], cmap [N, cmap_dim] or None -> logits [N, 1]."""
        check_shape(x, [None, self.in_channels, 4, 4], "x")
        if self.architecture == "skip":
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / np.sqrt(self.cmap_dim))
        return x

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, cmap_dim={self.cmap_dim}, architecture={self.architecture}"


class Discriminator(torch.nn.Module):
    """`D(img, c)` -> logits [N, 1]; `D.block_features(img)` -> each block's output, for feature losses."""

    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        self.c_dim = config.c_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.block_resolutions = config.block_resolutions
        for res in self.block_resolutions:
            block = DiscriminatorBlock(
                in_channels=config.channels(res) if res < config.img_resolution else 0,
                tmp_channels=config.channels(res),
                out_channels=config.channels(res // 2),
                resolution=res,
                config=config)
            setattr(self, f"b{res}", block)
        cmap_dim = config.label_width
        if config.c_dim > 0:
            self.mapping = MappingNetwork(z_dim=0, c_dim=config.c_dim, w_dim=cmap_dim, num_ws=1, config=config.mapping)
        self.b4 = DiscriminatorEpilogue(config.channels(4), cmap_dim=cmap_dim, config=config)

    def _blocks(self, img: torch.Tensor):
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        x, skip_img = None, img.to(torch.float32)
        for res in self.block_resolutions:
            x, skip_img = getattr(self, f"b{res}")(x, skip_img)
            yield f"b{res}", x, skip_img

    def block_features(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        """{'b<res>': x} for every block before the epilogue: [N, C, res/2, res/2] each, input side first.
        Needs no label: the label enters only in the epilogue."""
        return {name: x for name, x, _ in self._blocks(img)}

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """img [N, img_channels, R, R] (roughly [-1, 1]), c [N, c_dim] one-hot (conditional models) -> [N, 1]."""
        for _, x, skip_img in self._blocks(img):
            pass
        cmap = None
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this discriminator is conditional: pass a class label c of shape [N, {self.c_dim}]")
            check_shape(c, [img.shape[0], self.c_dim], "c")
            cmap = self.mapping(None, c)[:, 0]
        return self.b4(x, skip_img, cmap)

    def extra_repr(self) -> str:
        return f"c_dim={self.c_dim}, img_resolution={self.img_resolution}, img_channels={self.img_channels}, " \
               f"architecture={self.config.architecture}"
