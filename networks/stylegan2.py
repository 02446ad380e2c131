"""StyleGAN2 generator (Karras et al. 2020, configs E/F) with NVIDIA's state-dict layout.

Module names and tensor shapes are those of NVIDIA's stylegan2-ada-pytorch / stylegan3
`networks_stylegan2.Generator` (`synthesis.b8.conv0.weight`, `synthesis.b4.const`, ...), so their
weights load with `load_state_dict(strict=True)`. Each block `synthesis.b<res>` returns its feature
map; the skip/orig/resnet image path is summed by the synthesis network from each block's `torgb`.
"""
import numpy as np
import torch

from eqviz.cpu_threads import fastest_threads
from eqviz.cuda_ops.bias_act import ACTIVATIONS, bias_act
from eqviz.cuda_ops.upfirdn2d import setup_filter, upsample2d
from eqviz.networks.config import StyleGAN2Config
from eqviz.networks.layers import FullyConnectedLayer, GeneratorBase, check_shape
from eqviz.networks.noise_modes import NOISE_MODES
from eqviz.networks.modulated_conv import conv2d_resample, modulated_conv2d, modulated_conv2d_fast, use_fast_conv



def lrelu_clamp_(x: torch.Tensor, clamp: float | None) -> torch.Tensor:
    """bias_act's leaky ReLU and clamp in place on x, which the caller owns (a fresh conv output that
    already holds the bias and the activation's gain, see SynthesisLayer.forward).

    Saves the fresh tensor bias_act's fast path allocates: at 256² that is 32 MiB of new pages per
    layer, which cost as much as the arithmetic.
    """
    torch.nn.functional.leaky_relu_(x, ACTIVATIONS["lrelu"].def_alpha)
    return x.clamp_(-clamp, clamp) if clamp is not None else x


class SynthesisLayer(torch.nn.Module):
    """Modulated conv (2x upsampling in a block's first layer) + noise + bias + activation."""

    def __init__(self,
                 in_channels: int,              # input feature channels
                 out_channels: int,             # output feature channels
                 w_dim: int,                    # width of w
                 resolution: int,               # output resolution
                 kernel_size: int = 3,          # conv kernel size
                 up: int = 1,                   # 1, or 2 for the first layer of a block
                 use_noise: bool = True,        # per-pixel noise input
                 activation: str = "lrelu",     # bias_act activation
                 resample_filter=(1, 3, 3, 1),  # upsampling FIR taps
                 conv_clamp: float | None = None,  # clamp the output to +-X
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.act_gain = ACTIVATIONS[activation].def_gain
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const", fused_modconv: bool = True,
                gain: float = 1) -> torch.Tensor:  # [N, C_in, R/up, R/up], [N, w_dim] -> [N, C_out, R, R]
        check_shape(x, [None, self.in_channels, self.resolution // self.up, self.resolution // self.up], "x")
        styles = self.affine(w)  # [N, C_in]
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device)
            noise = noise * self.noise_strength  # [N, 1, R, R]
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength  # [R, R], same for every sample and channel
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        if use_fast_conv(x) and self.activation == "lrelu" and gain > 0:
            # lrelu(v) * g = lrelu(v * g) for g > 0: the gain rides on the conv's output scales.
            x = modulated_conv2d_fast(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                                      resample_filter=self.resample_filter, flip_weight=(self.up == 1),
                                      bias=self.bias, gain=self.act_gain * gain)
            return lrelu_clamp_(x, clamp)
        # NVIDIA correlates at up=1 (faster) and convolves when upsampling; the weights assume both.
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, flip_weight=(self.up == 1), fused=fused_modconv)
        return bias_act(x, self.bias.to(x.dtype), act=self.activation, gain=self.act_gain * gain, clamp=clamp)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, w_dim={self.w_dim}, " \
               f"resolution={self.resolution}, up={self.up}, activation={self.activation}"


class ToRGBLayer(torch.nn.Module):
    """Modulated 1x1 conv to image channels, without demodulation."""

    def __init__(self,
                 in_channels: int,              # input feature channels
                 out_channels: int,             # image channels
                 w_dim: int,                    # width of w
                 conv_clamp: float | None = None,  # clamp the output to +-X
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.w_dim = w_dim
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / np.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain  # [N, C_in]
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused_modconv)  # [N, C_img, R, R]
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, w_dim={self.w_dim}"


class SkipLayer(torch.nn.Module):
    """ResNet shortcut: 2x FIR upsampling + 1x1 conv, no bias (NVIDIA's Conv2dLayer in that role)."""

    def __init__(self,
                 in_channels: int,              # input feature channels
                 out_channels: int,             # output feature channels
                 resample_filter=(1, 3, 3, 1),  # upsampling FIR taps
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.weight_gain = 1 / np.sqrt(in_channels)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))

    def forward(self, x: torch.Tensor, gain: float = 1) -> torch.Tensor:  # [N, C_in, R, R] -> [N, C_out, 2R, 2R]
        w = (self.weight * self.weight_gain).to(x.dtype)
        x = conv2d_resample(x, w, f=self.resample_filter, up=2, flip_weight=False)
        return bias_act(x, None, gain=gain)

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, up=2"


class SynthesisBlock(torch.nn.Module):
    """One resolution: [const | conv0 (2x up)] -> conv1, plus the ToRGB output and resnet shortcut.

    `forward` returns the block's feature map; `accumulate_rgb` adds its ToRGB output to the image.
    """

    def __init__(self,
                 in_channels: int,              # channels of the previous block, 0 = first block
                 out_channels: int,             # channels of this block
                 w_dim: int,                    # width of w
                 resolution: int,               # resolution of this block
                 img_channels: int,             # image channels
                 is_last: bool,                 # the block at img_resolution
                 use_fp16: bool,                # trained in FP16 (honoured on CUDA only when asked)
                 config: StyleGAN2Config,       # architecture, filter, clamp, layer settings
                 ):
        super().__init__()
        self.in_channels = in_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.is_last = is_last
        self.architecture = config.architecture
        self.use_fp16 = use_fp16
        self.fused_modconv_default = config.fused_modconv_default
        self.register_buffer("resample_filter", setup_filter(config.resample_filter))
        self.num_conv = 0
        self.num_torgb = 0
        layer_kwargs = dict(w_dim=w_dim, resolution=resolution, kernel_size=config.kernel_size,
                            use_noise=config.use_noise, activation=config.activation,
                            resample_filter=config.resample_filter, conv_clamp=config.conv_clamp)
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer_kwargs)
        self.num_conv += 1
        if is_last or config.architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=config.conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and config.architecture == "resnet":
            self.skip = SkipLayer(in_channels, out_channels, resample_filter=config.resample_filter)

    def _fused(self, fused_modconv) -> bool:
        if fused_modconv is None:
            fused_modconv = self.fused_modconv_default
        if fused_modconv == "inference_only":
            fused_modconv = not self.training
        return bool(fused_modconv)

    def forward(self, x: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "const", force_fp32: bool = True,
                fused_modconv: bool | str | None = None) -> torch.Tensor:
        """x [N, C_in, R/2, R/2] (None for the first block), ws [N, num_conv, w_dim] -> [N, C_out, R, R]."""
        check_shape(ws, [None, self.num_conv, self.w_dim], "ws")
        dtype = torch.float16 if self.use_fp16 and not force_fp32 and ws.is_cuda else torch.float32
        fused = self._fused(fused_modconv)
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])  # [N, C, 4, 4]
            return self.conv1(x, next(w_iter), noise_mode=noise_mode, fused_modconv=fused)
        x = x.to(dtype)
        if self.architecture == "resnet":
            y = self.skip(x, gain=np.sqrt(0.5))
            x = self.conv0(x, next(w_iter), noise_mode=noise_mode, fused_modconv=fused)
            x = self.conv1(x, next(w_iter), noise_mode=noise_mode, fused_modconv=fused, gain=np.sqrt(0.5))
            return y + x
        x = self.conv0(x, next(w_iter), noise_mode=noise_mode, fused_modconv=fused)
        return self.conv1(x, next(w_iter), noise_mode=noise_mode, fused_modconv=fused)

    def accumulate_rgb(self, x: torch.Tensor, img: torch.Tensor | None, w: torch.Tensor | None,
                       fused_modconv: bool | str | None = None) -> torch.Tensor | None:
        """Upsamples the image so far [N, C_img, R/2, R/2] and adds this block's ToRGB of x (w [N, w_dim])."""
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, w, fused_modconv=self._fused(fused_modconv)).to(torch.float32)
            img = img + y if img is not None else y
        return img

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, architecture={self.architecture}, use_fp16={self.use_fp16}"


class SynthesisNetwork(torch.nn.Module):
    """ws [N, num_ws, w_dim] -> image, through blocks b4, b8, ..., b<img_resolution>."""

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.num_fp16_res = config.num_fp16_res
        self.architecture = config.architecture
        log2 = int(np.log2(config.img_resolution))
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        channels = {res: min(config.channel_base // res, config.channel_max) for res in self.block_resolutions}
        fp16_resolution = max(2 ** (log2 + 1 - config.num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(
                in_channels=channels[res // 2] if res > 4 else 0,
                out_channels=channels[res],
                w_dim=config.w_dim,
                resolution=res,
                img_channels=config.img_channels,
                is_last=(res == config.img_resolution),
                use_fp16=(res >= fp16_resolution),
                config=config)
            self.num_ws += block.num_conv
            setattr(self, f"b{res}", block)
        self.num_ws += block.num_torgb  # the last block's ToRGB takes one more w

    @property
    def preview_resolutions(self) -> tuple[int, ...]:
        """Resolutions `forward(stop_at=...)` can end at: every block's with the 'skip' architecture,
        whose image is a running sum of all blocks' ToRGB outputs; only the last one otherwise."""
        if self.architecture != "skip":
            return (self.img_resolution,)
        return tuple(reversed(self.block_resolutions))

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", force_fp32: bool = True,
                fused_modconv: bool | str | None = None, stop_at: int | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R] float32.

        noise_mode: 'const' (the stored noise), 'random' (fresh noise per call) or 'none'.
        force_fp32: False runs the blocks NVIDIA trained in FP16 in FP16, on CUDA only.
        fused_modconv: None = the checkpoint's default; True/False force one formulation.
        stop_at: a resolution from `preview_resolutions`: the image as it stands after that block,
            [N, img_channels, stop_at, stop_at], without running the blocks above (a cheap preview:
            the last block alone is about half of the work).
        """
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if stop_at is not None and stop_at not in self.preview_resolutions:
            raise ValueError(f"stop_at must be one of {self.preview_resolutions} for this generator, got {stop_at!r}")
        check_shape(ws, [None, self.num_ws, self.w_dim], "ws")
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        with fastest_threads((id(self), tuple(ws.shape), stop_at), ws.device):
            for res in self.block_resolutions:
                block = getattr(self, f"b{res}")
                x = block(x, ws[:, w_idx:w_idx + block.num_conv], noise_mode=noise_mode, force_fp32=force_fp32,
                          fused_modconv=fused_modconv)
                w_idx += block.num_conv
                # ToRGB shares its w with the next block's first conv (NVIDIA's indexing).
                img = block.accumulate_rgb(x, img, ws[:, w_idx] if block.num_torgb else None,
                                           fused_modconv=fused_modconv)
                if res == stop_at:
                    break
        return img

    def extra_repr(self) -> str:
        return f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}, " \
               f"img_channels={self.img_channels}, num_fp16_res={self.num_fp16_res}"


class Generator(GeneratorBase):
    """StyleGAN2: `G(z, c)`, `G.mapping(z, c, truncation_psi, truncation_cutoff)`, `G.synthesis(ws)`."""

    def __init__(self, config: StyleGAN2Config):
        super().__init__(config)
        self.synthesis = SynthesisNetwork(config)
        self._finish_init()
