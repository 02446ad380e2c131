"""StyleGAN3 generator (Karras et al. 2021, "Alias-Free Generative Adversarial Networks"), configs T and R,
with NVIDIA's state-dict layout.

The synthesis network is a Fourier-feature input followed by `num_layers + 1` layers named
`L<idx>_<out_size>_<out_channels>` (NVIDIA's names, e.g. `synthesis.L3_36_64`); each returns its
feature map. Every layer's sampling rate, cutoff, transition band, size and padding derive from
the config alone (`synthesis_geometry`), exactly as NVIDIA derives them.
"""
from dataclasses import dataclass

import numpy as np
import torch

from eqviz.cpu_threads import fastest_threads
from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu
from eqviz.networks.config import StyleGAN3Config
from eqviz.errors import CheckpointError
from eqviz.networks.filter_design import design_lowpass_filter
from eqviz.networks.layers import FullyConnectedLayer, GeneratorBase, check_shape
from eqviz.networks.noise_modes import NOISE_MODES
from eqviz.networks.modulated_conv import modulated_conv2d_stylegan3


# ---- Per-layer band limits (paper section 3.2 and appendix F) ---------------------------------------
@dataclass(frozen=True)
class InputGeometry:
    channels: int               # Fourier features
    size: int                   # samples per side, margin included
    sampling_rate: float        # samples per unit image width
    bandwidth: float            # highest feature frequency (cycles per unit)


@dataclass(frozen=True)
class LayerGeometry:
    name: str                   # NVIDIA's module name L<idx>_<out_size>_<out_channels>
    is_torgb: bool              # the final 1x1 layer to image channels
    is_critically_sampled: bool  # cutoff at Nyquist (the last num_critical layers and ToRGB)
    use_fp16: bool              # NVIDIA trained it in FP16
    in_channels: int
    out_channels: int
    in_size: int                # input samples per side
    out_size: int               # output samples per side
    in_sampling_rate: int
    out_sampling_rate: int
    in_cutoff: float            # f_c of the input signal
    out_cutoff: float
    in_half_width: float        # f_h: half the transition band of the input signal
    out_half_width: float


def synthesis_geometry(config: StyleGAN3Config) -> tuple[InputGeometry, list[LayerGeometry]]:
    """Cutoffs and minimum stopbands grow geometrically from the first layer to the last, then stay
    put for the critically sampled layers; each layer samples at the smallest power of two that
    holds its stopband (at most img_resolution)."""
    n, res = config.num_layers, config.img_resolution
    last_cutoff = res / 2
    last_stopband = last_cutoff * config.last_stopband_rel
    exponents = np.minimum(np.arange(n + 1) / (n - config.num_critical), 1)
    cutoffs = config.first_cutoff * (last_cutoff / config.first_cutoff) ** exponents
    stopbands = config.first_stopband * (last_stopband / config.first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + config.margin_size * 2
    sizes[-2:] = res
    channels = np.rint(np.minimum((config.channel_base / 2) / cutoffs, config.channel_max))
    channels[-1] = config.img_channels
    input_geometry = InputGeometry(channels=int(channels[0]), size=int(sizes[0]),
                                   sampling_rate=float(sampling_rates[0]), bandwidth=float(cutoffs[0]))
    layers = []
    for idx in range(n + 1):
        prev = max(idx - 1, 0)
        layers.append(LayerGeometry(
            name=f"L{idx}_{int(sizes[idx])}_{int(channels[idx])}",
            is_torgb=(idx == n),
            is_critically_sampled=(idx >= n - config.num_critical),
            use_fp16=bool(sampling_rates[idx] * 2 ** config.num_fp16_res > res),
            in_channels=int(channels[prev]),
            out_channels=int(channels[idx]),
            in_size=int(sizes[prev]),
            out_size=int(sizes[idx]),
            in_sampling_rate=int(sampling_rates[prev]),
            out_sampling_rate=int(sampling_rates[idx]),
            in_cutoff=float(cutoffs[prev]),
            out_cutoff=float(cutoffs[idx]),
            in_half_width=float(half_widths[prev]),
            out_half_width=float(half_widths[idx])))
    return input_geometry, layers


class SynthesisInput(torch.nn.Module):
    """Fourier features sampled on the first layer's grid, rotated/translated by the first w and by
    the user's `transform` buffer (the inverse of the desired image transform, NVIDIA's semantics)."""

    def __init__(self,
                 w_dim: int,                    # width of w
                 geometry: InputGeometry,       # channels, size, sampling rate, bandwidth
                 ):
        super().__init__()
        self.w_dim = w_dim
        self.channels = geometry.channels
        self.size = geometry.size
        self.sampling_rate = geometry.sampling_rate
        self.bandwidth = geometry.bandwidth
        # Frequencies uniform-ish in the disc of radius `bandwidth` (NVIDIA's draw, in NVIDIA's order).
        freqs = torch.randn([self.channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= self.bandwidth
        phases = torch.rand([self.channels]) - 0.5
        self.weight = torch.nn.Parameter(torch.randn([self.channels, self.channels]))
        self.affine = FullyConnectedLayer(w_dim, 4, weight_init=0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3, 3))  # user inverse transform of the image
        self.register_buffer("freqs", freqs)  # [C, 2] cycles per unit image width
        self.register_buffer("phases", phases)  # [C] in cycles

    def forward(self, w: torch.Tensor,              # [N, w_dim]
                transforms: torch.Tensor | None = None,  # [N, 3, 3] per-sample user transforms, else the buffer
                ) -> torch.Tensor:                  # [N, C, size, size]
        batch_size = w.shape[0]
        if transforms is None:
            user = self.transform.unsqueeze(0)
        else:
            check_shape(transforms, [batch_size, 3, 3], "transforms")
            user = transforms.to(device=w.device, dtype=self.transform.dtype)
        # The affine maps w to a rotation (r_c, r_s) and translation (t_x, t_y); dividing all four by
        # |(r_c, r_s)| makes the rotation orthonormal (and scales the translation with it, as NVIDIA).
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device).unsqueeze(0).repeat([batch_size, 1, 1])  # inverse rotation
        m_r[:, 0, 0] = t[:, 0]
        m_r[:, 0, 1] = -t[:, 1]
        m_r[:, 1, 0] = t[:, 1]
        m_r[:, 1, 1] = t[:, 0]
        m_t = torch.eye(3, device=w.device).unsqueeze(0).repeat([batch_size, 1, 1])  # inverse translation
        m_t[:, 0, 2] = -t[:, 2]
        m_t[:, 1, 2] = -t[:, 3]
        transforms = m_r @ m_t @ user  # [N, 3, 3]

        # A feature sin(2 pi (f.q + phi)) evaluated at q = A p is one with f A and phi + f . A[:2, 2].
        freqs = self.freqs.unsqueeze(0)  # [1, C, 2]
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)  # [N, C]
        freqs = freqs @ transforms[:, :2, :2]  # [N, C, 2]
        # Fade out frequencies the user transform pushed past the band (they would alias).
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)

        # Sample centres (i + 0.5 - size/2) / sampling_rate, in units of the final image width.
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = 0.5 * self.size / self.sampling_rate
        theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grid = torch.nn.functional.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size],
                                               align_corners=False)  # [1, H, W, 2]
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # [N, H, W, C]
        x = x + phases.unsqueeze(1).unsqueeze(2)
        x = torch.sin(x * (np.pi * 2)) * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()  # learned channel mixing
        return x.permute(0, 3, 1, 2)  # [N, C, H, W]

    def extra_repr(self) -> str:
        return f"w_dim={self.w_dim}, channels={self.channels}, size={self.size}, " \
               f"sampling_rate={self.sampling_rate:g}, bandwidth={self.bandwidth:g}"


class SynthesisLayer(torch.nn.Module):
    """Modulated conv, then bias + leaky ReLU evaluated at `tmp_sampling_rate` between a low-pass
    upsampling and a low-pass downsampling filter (filtered_lrelu). ToRGB: 1x1 conv, linear."""

    def __init__(self,
                 w_dim: int,                    # width of w
                 geometry: LayerGeometry,       # sizes, channels, sampling rates and band limits
                 config: StyleGAN3Config,       # conv kernel, filter size, lrelu oversampling, radial, clamp
                 ):
        super().__init__()
        g = geometry
        self.w_dim = w_dim
        self.is_torgb = g.is_torgb
        self.is_critically_sampled = g.is_critically_sampled
        self.use_fp16 = g.use_fp16
        self.in_channels = g.in_channels
        self.out_channels = g.out_channels
        self.in_size = g.in_size
        self.out_size = g.out_size
        self.in_sampling_rate = g.in_sampling_rate
        self.out_sampling_rate = g.out_sampling_rate
        oversampling = 1 if g.is_torgb else config.lrelu_upsampling
        self.tmp_sampling_rate = max(g.in_sampling_rate, g.out_sampling_rate) * oversampling
        self.in_cutoff = g.in_cutoff
        self.out_cutoff = g.out_cutoff
        self.in_half_width = g.in_half_width
        self.out_half_width = g.out_half_width
        self.conv_kernel = 1 if g.is_torgb else config.conv_kernel
        self.conv_clamp = config.conv_clamp
        self.magnitude_ema_beta = config.magnitude_ema_beta

        self.affine = FullyConnectedLayer(w_dim, self.in_channels, bias_init=1)
        k = self.conv_kernel
        self.weight = torch.nn.Parameter(torch.randn([self.out_channels, self.in_channels, k, k]))
        self.bias = torch.nn.Parameter(torch.zeros([self.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))  # mean square of the input seen in training

        self.up_factor = _exact_ratio(self.tmp_sampling_rate, self.in_sampling_rate, g.name)
        self.up_taps = config.filter_size * self.up_factor if self.up_factor > 1 and not self.is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(
            numtaps=self.up_taps, cutoff=self.in_cutoff, width=self.in_half_width * 2, fs=self.tmp_sampling_rate))
        self.down_factor = _exact_ratio(self.tmp_sampling_rate, self.out_sampling_rate, g.name)
        self.down_taps = config.filter_size * self.down_factor if self.down_factor > 1 and not self.is_torgb else 1
        self.down_radial = config.use_radial_filters and not self.is_critically_sampled
        self.register_buffer("down_filter", design_lowpass_filter(
            numtaps=self.down_taps, cutoff=self.out_cutoff, width=self.out_half_width * 2, fs=self.tmp_sampling_rate,
            radial=self.down_radial))

        # Pad so that the output has out_size samples, centred on the input's sample grid (appendix C.3).
        pad_total = (self.out_size - 1) * self.down_factor + 1  # wanted length before downsampling
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor  # length after conv + upsampling
        pad_total += self.up_taps + self.down_taps - 2  # lost to the two filters
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [int(pad_lo), int(pad_hi), int(pad_lo), int(pad_hi)]  # [x0, x1, y0, y1]

    def forward(self, x: torch.Tensor, w: torch.Tensor, force_fp32: bool = True) -> torch.Tensor:
        """x [N, C_in, in_size, in_size], w [N, w_dim] -> [N, C_out, out_size, out_size]."""
        check_shape(x, [None, self.in_channels, self.in_size, self.in_size], "x")
        styles = self.affine(w)  # [N, C_in]
        if self.is_torgb:
            styles = styles * (1 / np.sqrt(self.in_channels * self.conv_kernel ** 2))
        dtype = torch.float16 if self.use_fp16 and not force_fp32 and x.is_cuda else torch.float32
        x = modulated_conv2d_stylegan3(x.to(dtype), self.weight, styles, demodulate=not self.is_torgb,
                                       padding=self.conv_kernel - 1, input_gain=self.magnitude_ema.rsqrt())
        return filtered_lrelu(x, fu=self.up_filter, fd=self.down_filter, b=self.bias.to(x.dtype),
                              up=self.up_factor, down=self.down_factor, padding=self.padding,
                              gain=1 if self.is_torgb else np.sqrt(2), slope=1 if self.is_torgb else 0.2,
                              clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return "\n".join([
            f"w_dim={self.w_dim}, is_torgb={self.is_torgb}, is_critically_sampled={self.is_critically_sampled}, "
            f"use_fp16={self.use_fp16},",
            f"in_sampling_rate={self.in_sampling_rate:g}, out_sampling_rate={self.out_sampling_rate:g}, "
            f"tmp_sampling_rate={self.tmp_sampling_rate:g},",
            f"in_cutoff={self.in_cutoff:g}, out_cutoff={self.out_cutoff:g},",
            f"in_half_width={self.in_half_width:g}, out_half_width={self.out_half_width:g},",
            f"in_size={self.in_size}, out_size={self.out_size},",
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, up={self.up_factor}, "
            f"down={self.down_factor}, padding={self.padding}"])


class SynthesisNetwork(torch.nn.Module):
    """ws [N, num_layers + 2, w_dim] -> image: ws[:, 0] drives the input, ws[:, i + 1] layer i."""

    def __init__(self, config: StyleGAN3Config):
        super().__init__()
        self.w_dim = config.w_dim
        self.img_resolution = config.img_resolution
        self.img_channels = config.img_channels
        self.num_ws = config.num_layers + 2
        self.num_layers = config.num_layers
        self.num_critical = config.num_critical
        self.margin_size = config.margin_size
        self.output_scale = config.output_scale
        self.num_fp16_res = config.num_fp16_res
        input_geometry, layer_geometry = synthesis_geometry(config)
        self.input = SynthesisInput(w_dim=config.w_dim, geometry=input_geometry)
        self.layer_names = []
        for geometry in layer_geometry:
            setattr(self, geometry.name, SynthesisLayer(w_dim=config.w_dim, geometry=geometry, config=config))
            self.layer_names.append(geometry.name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", force_fp32: bool = True,
                input_transforms: torch.Tensor | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R] float32.

        noise_mode: accepted for interface parity with StyleGAN2; StyleGAN3 has no noise inputs.
        force_fp32: False runs the layers NVIDIA trained in FP16 in FP16, on CUDA only.
        input_transforms: [N, 3, 3], each sample's own user transform in place of `input.transform`
            (same meaning: the inverse of the image transform), so that frames at different poses
            render in one batched call.
        """
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        check_shape(ws, [None, self.num_ws, self.w_dim], "ws")
        with fastest_threads((id(self), tuple(ws.shape)), ws.device):
            ws = ws.to(torch.float32).unbind(dim=1)
            x = self.input(ws[0], input_transforms)
            for name, w in zip(self.layer_names, ws[1:]):
                x = getattr(self, name)(x, w, force_fp32=force_fp32)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)

    def extra_repr(self) -> str:
        return f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}, " \
               f"img_channels={self.img_channels}, num_layers={self.num_layers}, num_critical={self.num_critical}, " \
               f"margin_size={self.margin_size}, num_fp16_res={self.num_fp16_res}"


class Generator(GeneratorBase):
    """StyleGAN3-T / -R: `G(z, c)`, `G.mapping(...)`, `G.synthesis(ws)`, `G.synthesis.input.transform`."""

    supports_input_transform = True

    def __init__(self, config: StyleGAN3Config):
        super().__init__(config)
        self.synthesis = SynthesisNetwork(config)
        self._finish_init()


def _exact_ratio(rate: float, base: float, name: str) -> int:
    factor = int(np.rint(rate / base))
    if base * factor != rate:
        raise CheckpointError(f"Layer {name}: sampling rate {rate:g} is not a whole multiple of {base:g}; "
                              "the checkpoint's StyleGAN3 kwargs describe no valid network.")
    return factor
