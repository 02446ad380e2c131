"""Modulated convolution (StyleGAN2, Karras et al. 2020, section 2.2), in StyleGAN2's and StyleGAN3's
variants, plus the upsampling convolution StyleGAN2 builds it on.

The per-sample weights are run as one grouped convolution (the batch folded into the channel
axis), which is how NVIDIA evaluates generators at inference time ("fused modconv"). When the ops
resolve to the fast CPU path, StyleGAN2's convolution runs in a different order of the same sums
(`modulated_conv2d_fast`); impl='ref' keeps NVIDIA's formulation as the baseline.
"""
import numpy as np
import torch
import torch.nn.functional as F

from eqviz.cuda_ops.dispatch import choose_impl
from eqviz.cuda_ops.tensor_cache import cached_form
from eqviz.cuda_ops.upfirdn2d import upfirdn2d
from eqviz.networks.winograd_conv import conv3x3_winograd, transform_filter, winograd_pays


# ---- Padding of the upsampled signal that keeps the FIR centred (NVIDIA's upsample2d convention) ----
def upsample_fir_padding(padding: int, f: torch.Tensor, up: int) -> list[int]:
    """[x0, x1, y0, y1] padding of the FIR applied after zero insertion by `up`."""
    fh, fw = f.shape[0], f.shape[-1]
    return [padding + (fw + up - 1) // 2, padding + (fw - up) // 2, padding + (fh + up - 1) // 2, padding + (fh - up) // 2]


def after_transposed_conv(fir_padding: list[int], kh: int, kw: int, up: int) -> list[int]:
    """The same FIR padding for a transposed conv's full output, which the kh x kw kernel has already
    widened by its extent."""
    x0, x1, y0, y1 = fir_padding
    return [x0 - (kw - 1), x1 - (kw - up), y0 - (kh - 1), y1 - (kh - up)]


# ---- Convolution with optional FIR upsampling, as NVIDIA's conv2d_resample with down=1 --------------
def conv2d_resample(x: torch.Tensor,            # [N, C_in, H, W]
                    w: torch.Tensor,            # [C_out, C_in / groups, kh, kw]
                    f: torch.Tensor | None = None,  # low-pass filter used when up > 1 (setup_filter form)
                    up: int = 1,                # integer upsampling factor
                    padding: int = 0,           # padding of the upsampled signal, all four sides
                    groups: int = 1,            # grouped convolution
                    flip_weight: bool = True,   # True = correlation (torch's conv2d), False = convolution
                    ) -> torch.Tensor:
    """conv(upsample(x)) where upsample = zero insertion + `f` with gain up**2, output [N, C_out, H*up, W*up]
    for 'same' padding. Evaluated the way NVIDIA does (transposed strided conv, then the FIR) so that
    float32 results agree with NVIDIA's to rounding."""
    c_out, c_in_per_group, kh, kw = w.shape
    if up == 1:
        if not flip_weight and (kh > 1 or kw > 1):
            w = w.flip([2, 3])
        return F.conv2d(x, w, padding=padding, groups=groups)
    fir_padding = upsample_fir_padding(padding, f, up)
    if kh == 1 and kw == 1:  # a 1x1 conv commutes with upsampling: convolve the small image
        x = F.conv2d(x, w, groups=groups)
        return upfirdn2d(x, f, up=up, padding=fir_padding, gain=up ** 2)
    # The transposed conv does zero insertion and the kernel in one step; the FIR then pads the rest.
    if groups == 1:
        w = w.transpose(0, 1)
    else:
        w = w.reshape(groups, c_out // groups, c_in_per_group, kh, kw).transpose(1, 2)
        w = w.reshape(groups * c_in_per_group, c_out // groups, kh, kw)
    px0, px1, py0, py1 = after_transposed_conv(fir_padding, kh, kw, up)
    pxt = max(min(-px0, -px1), 0)
    pyt = max(min(-py0, -py1), 0)
    if flip_weight:  # a transposed conv already convolves; correlation needs the flipped kernel
        w = w.flip([2, 3])
    x = F.conv_transpose2d(x, w, stride=up, padding=[pyt, pxt], groups=groups)
    return upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up ** 2)


# ---- StyleGAN2: modulate, convolve, demodulate (fused or as activation scaling) ---------------------
def modulated_conv2d(x: torch.Tensor,           # [N, C_in, H, W]
                     weight: torch.Tensor,      # [C_out, C_in, kh, kw]
                     styles: torch.Tensor,      # [N, C_in] per-sample input-channel scales
                     noise: torch.Tensor | None = None,  # added to the output (broadcastable)
                     up: int = 1,               # integer upsampling factor
                     padding: int = 0,          # padding of the upsampled signal
                     resample_filter: torch.Tensor | None = None,  # FIR used when up > 1
                     demodulate: bool = True,   # normalise each output channel's weights to unit norm
                     flip_weight: bool = True,  # True = correlation, False = convolution
                     fused: bool = True,        # one grouped conv with per-sample weights (inference form)
                     ) -> torch.Tensor:         # [N, C_out, H*up, W*up]
    if use_fast_conv(x):
        return modulated_conv2d_fast(x, weight, styles, noise=noise, up=up, padding=padding,
                                     resample_filter=resample_filter, demodulate=demodulate, flip_weight=flip_weight)
    batch_size = x.shape[0]
    c_out, c_in, kh, kw = weight.shape
    if x.dtype == torch.float16 and demodulate:
        # Scale both factors to max 1 first so that their product cannot overflow FP16.
        weight = weight * (1 / np.sqrt(c_in * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
    w = dcoefs = None
    if demodulate or fused:
        w = weight.unsqueeze(0) * styles.reshape(batch_size, 1, -1, 1, 1)  # [N, C_out, C_in, kh, kw]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, C_out]
    if not fused:
        x = x * styles.to(x.dtype).reshape(batch_size, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), f=resample_filter, up=up, padding=padding, flip_weight=flip_weight)
        if demodulate:
            x = x * dcoefs.to(x.dtype).reshape(batch_size, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x
    if demodulate:
        w = w * dcoefs.reshape(batch_size, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])  # [1, N * C_in, H, W]
    w = w.reshape(-1, c_in, kh, kw)  # [N * C_out, C_in, kh, kw]
    x = conv2d_resample(x, w.to(x.dtype), f=resample_filter, up=up, padding=padding, groups=batch_size,
                        flip_weight=flip_weight)
    x = x.reshape(batch_size, -1, *x.shape[2:])  # [N, C_out, H', W']
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


# ---- StyleGAN2 on the fast CPU path: channels-last convs, polyphase upsampling ----------------------
SAMPLE_BY_SAMPLE_VALUES = 2**20  # per-sample feature values from which a batch runs sample by sample

def use_fast_conv(x: torch.Tensor) -> bool:
    """True where the ops resolve to the fast PyTorch path on the CPU (not for 'ref', not on CUDA), with
    autograd off: the fast path works in place on fresh tensors and caches forms of the weights."""
    return (x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled()
            and choose_impl("auto", x) == "fast")


def conv_transpose2d_polyphase(x: torch.Tensor,   # [N, C_in, H, W]
                               flipped: torch.Tensor,  # [C_out, C_in, kh, kw]: the kernel, flipped
                               up: int,           # stride of the transposed conv
                               ) -> torch.Tensor:  # [N, C_out, (H-1)*up + kh, (W-1)*up + kw], channels-last
    """The full stride-`up` transposed conv, z[up*i + k] += x[i] * kernel[k], as up*up ordinary convs.

    Output phase (ry, rx) only meets the taps kernel[ry::up, rx::up], so it is a small dense conv of
    the input; no multiplications by inserted zeros, and oneDNN's direct convs on channels-last data
    are faster than its transposed conv (measured ~1.5x at StyleGAN2's shapes on 2 cores).
    """
    n, _, h, w = x.shape
    c_out, _, kh, kw = flipped.shape
    if kh < up or kw < up:  # some phases would have no taps; conv2d_resample_fast handles 1x1 apart
        raise ValueError(f"conv_transpose2d_polyphase needs a kernel of at least {up}x{up}, got {kh}x{kw}")
    out_h, out_w = (h - 1) * up + kh, (w - 1) * up + kw
    # Phase r holds ceil((out - r) / up) = in - 1 + ceil((k - r) / up) samples: exactly its conv's output,
    # so the phases tile z without a remainder and z needs no crop (a crop would cost the FIR a copy).
    z = torch.empty([n, c_out, out_h, out_w], dtype=x.dtype, device=x.device, memory_format=torch.channels_last)
    for ry in range(up):
        for rx in range(up):
            # conv2d correlates: phase r's taps kernel[r::up] reversed, a strided slice of the flipped kernel.
            sub = flipped[:, :, (kh - 1 - ry) % up::up, (kw - 1 - rx) % up::up]
            # taps - 1 zeros on each side give the partial overlaps at both ends.
            z[:, :, ry::up, rx::up] = F.conv2d(x, sub, padding=[sub.shape[2] - 1, sub.shape[3] - 1])
    return z


def conv2d_resample_fast(x: torch.Tensor,       # [N, C_in, H, W]
                         w: torch.Tensor,       # [C_out, C_in, kh, kw]
                         f: torch.Tensor | None = None,  # low-pass filter used when up > 1
                         up: int = 1,           # integer upsampling factor
                         padding: int = 0,      # padding of the upsampled signal, all four sides
                         flip_weight: bool = True,  # True = correlation, False = convolution
                         gain: float = 1,       # output scale, folded into the FIR when up > 1
                         ) -> torch.Tensor:     # like conv2d_resample (groups=1) * gain, channels-last
    """conv2d_resample's sums, on channels-last tensors (oneDNN's faster layout on the CPU), with the
    upsampling transposed conv split into its polyphase convs. Same FIR and padding as NVIDIA's."""
    kh, kw = w.shape[2], w.shape[3]
    x = x.contiguous(memory_format=torch.channels_last)
    if up == 1:
        if not flip_weight:
            w = w.flip([2, 3])
        x = F.conv2d(x, w, padding=padding)
        return x.mul_(gain) if gain != 1 else x
    fir_padding = upsample_fir_padding(padding, f, up)
    if kh == 1 and kw == 1:
        x = F.conv2d(x, w)
        return upfirdn2d(x, f, up=up, padding=fir_padding, gain=up ** 2 * gain)
    # With flip_weight the transposed conv's kernel is w flipped, so its flip is w itself.
    z = conv_transpose2d_polyphase(x, w if flip_weight else w.flip([2, 3]), up)
    return upfirdn2d(z, f, padding=after_transposed_conv(fir_padding, kh, kw, up), gain=up ** 2 * gain)


def modulated_conv2d_fast(x: torch.Tensor,      # [N, C_in, H, W]
                          weight: torch.Tensor,  # [C_out, C_in, kh, kw]
                          styles: torch.Tensor,  # [N, C_in]
                          noise: torch.Tensor | None = None,
                          up: int = 1,
                          padding: int = 0,
                          resample_filter: torch.Tensor | None = None,
                          demodulate: bool = True,
                          flip_weight: bool = True,
                          bias: torch.Tensor | None = None,  # [C_out], added after the noise
                          gain: float = 1,       # > 0: the whole output scaled (an activation's gain)
                          ) -> torch.Tensor:    # [N, C_out, H*up, W*up], channels-last
    """(modulated_conv2d + bias) * gain (float32, CPU) with the same sums in a faster order; `fused`
    does not apply. A positive gain commutes with leaky ReLU, so a layer can fold its activation's
    gain in here, where it rides on a scale that is applied anyway.

    Styles and demodulation are per-(out, in) scales, so they can go on the weights (one pass over
    C_out * C_in * k² values) or on the input and output (passes over the feature maps, and the
    conv uses the unchanged weights). One sample takes whichever touches fewer values: the weights
    at high resolution, the feature maps at 512 channels and low resolution. Several small samples
    scale the feature maps: one batched conv with shared weights instead of N small grouped ones.
    Samples of at least SAMPLE_BY_SAMPLE_VALUES each keep the cores busy alone: they run one by one,
    each as a single sample (its own weights): at StyleGAN2 256², batch 4, one thread, 5.2 s of CPU
    time against 6.4 s for scaling all four samples' feature maps twice per layer (a contended
    machine; 2**18 measured 5.8 s). Winograd convs (wide 3x3 layers) scale the feature maps while
    they copy them into and out of the transform, at no cost, for any batch.
    """
    if gain <= 0:
        raise ValueError(f"gain must be positive, got {gain}")
    batch_size = x.shape[0]
    kh, kw = weight.shape[2], weight.shape[3]
    # A convolution's kernel flipped is a correlation's: take the cached flip and correlate from here on.
    taps = weight
    if not flip_weight and (kh > 1 or kw > 1):
        taps = cached_form(weight, "flipped", lambda: weight.flip([2, 3]))
    winograd = up == 1 and padding == 1 and winograd_pays(x, weight, padding)
    if batch_size > 1 and x[0].numel() >= SAMPLE_BY_SAMPLE_VALUES and not winograd:
        per_sample = noise is not None and noise.dim() == 4 and noise.shape[0] == batch_size
        return torch.cat([modulated_conv2d_fast(x[i:i + 1], weight, styles[i:i + 1],
                                                noise=noise[i:i + 1] if per_sample else noise, up=up,
                                                padding=padding, resample_filter=resample_filter,
                                                demodulate=demodulate, flip_weight=flip_weight, bias=bias, gain=gain)
                          for i in range(batch_size)])
    energy = cached_form(weight, "energy", lambda: torch.linalg.vector_norm(weight, dim=(2, 3)).square_())
    # Output channel scales: demodulation (sum over (i, taps) of (weight * s_i)^2 = energy @ s^2) and gain.
    out_scale = (styles.square() @ energy.t() + 1e-8).rsqrt_().mul_(gain) if demodulate else None  # [N, C_out]
    if bias is not None:
        bias = bias * gain
    if noise is not None and gain != 1:
        noise = noise * gain
    if winograd:
        filters = cached_form(weight, ("winograd43", taps is weight), lambda: transform_filter(taps))
        if out_scale is None and gain != 1:
            out_scale = x.new_full([weight.shape[0]], gain)
        return conv3x3_winograd(x, filters, in_scale=styles, out_scale=out_scale, bias=bias, noise=noise)
    feature_values = x[0].numel() * (1 + up * up * weight.shape[0] / weight.shape[1])
    if batch_size == 1 and weight.numel() < feature_values:
        scale = styles.reshape(1, -1, 1, 1)
        if out_scale is not None:
            scale = scale * out_scale.reshape(-1, 1, 1, 1)  # [C_out, C_in, 1, 1]
        elif gain != 1:
            scale = scale * gain
        # One pass over the weights, written in the layout a channels-last conv would convert them to.
        w = torch.mul(taps, scale, out=torch.empty_like(taps, memory_format=torch.channels_last))
        if up == 1:  # the bias rides on the conv
            x = F.conv2d(x.contiguous(memory_format=torch.channels_last), w, bias=bias, padding=padding)
            return x.add_(noise) if noise is not None else x
        x = conv2d_resample_fast(x, w, f=resample_filter, up=up, padding=padding)
    else:
        x = x * styles.reshape(batch_size, -1, 1, 1)
        x = conv2d_resample_fast(x, taps, f=resample_filter, up=up, padding=padding,
                                 gain=gain if out_scale is None else 1)
        if out_scale is not None:
            x.mul_(out_scale.reshape(batch_size, -1, 1, 1))
    if noise is not None:
        x.add_(noise)
    return x.add_(bias.reshape(1, -1, 1, 1)) if bias is not None else x


# ---- StyleGAN3: pre-normalised modulation with an input gain, always fused ---------------------------
def modulated_conv2d_stylegan3(x: torch.Tensor,         # [N, C_in, H, W]
                               weight: torch.Tensor,    # [C_out, C_in, k, k]
                               styles: torch.Tensor,    # [N, C_in]
                               demodulate: bool = True,  # normalise output channels (False for ToRGB)
                               padding: int = 0,        # zero padding on all sides
                               input_gain: torch.Tensor | None = None,  # scalar or [N, C_in] input scale
                               ) -> torch.Tensor:       # [N, C_out, H + 2p - k + 1, W + 2p - k + 1]
    batch_size = x.shape[0]
    c_out, c_in, kh, kw = weight.shape
    if kh == kw == 3 and use_fast_conv(x) and winograd_pays(x, weight, padding):
        return modulated_conv3x3_stylegan3_winograd(x, weight, styles, demodulate, padding, input_gain)
    if demodulate:
        # Unit-RMS weights and styles first: demodulation removes the scale, this keeps FP16 in range.
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.unsqueeze(1).unsqueeze(3).unsqueeze(4)  # [N, C_out, C_in, k, k]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, C_out]
        w = w * dcoefs.unsqueeze(2).unsqueeze(3).unsqueeze(4)
    if input_gain is not None:
        input_gain = input_gain.expand(batch_size, c_in)  # [N, C_in]
        w = w * input_gain.unsqueeze(1).unsqueeze(3).unsqueeze(4)
    if kh == 1 and kw == 1 and padding == 0 and x.device.type == "cpu":
        return pointwise_conv_channels_last(x, w.reshape(batch_size, c_out, c_in).to(x.dtype))
    x = x.reshape(1, -1, *x.shape[2:])  # [1, N * C_in, H, W]
    w = w.reshape(-1, c_in, kh, kw)  # [N * C_out, C_in, k, k]
    x = F.conv2d(x, w.to(x.dtype), padding=padding, groups=batch_size)
    return x.reshape(batch_size, -1, *x.shape[2:])


def modulated_conv3x3_stylegan3_winograd(x: torch.Tensor,       # [N, C_in, H, W], float32 on the CPU
                                         weight: torch.Tensor,  # [C_out, C_in, 3, 3]
                                         styles: torch.Tensor,  # [N, C_in]
                                         demodulate: bool,
                                         padding: int,          # 0, 1 or 2
                                         input_gain: torch.Tensor | None,  # scalar or [N, C_in]
                                         ) -> torch.Tensor:     # like modulated_conv2d_stylegan3, channels-last
    """modulated_conv2d_stylegan3's sums with the per-sample factors kept off the weights.

    Its per-sample weights are unit_weight[o, i] * styles[i] * dcoefs[o] * input_gain[i]: the input
    factors scale x and demodulation scales the output as the Winograd conv copies them in and out,
    so the transformed filters depend on the weight alone and are cached with it. dcoefs are those
    of the same modulated weights, sum over (i, taps) of (unit_weight * styles)^2 = styles^2 @ energy.
    """
    batch_size, c_in = x.shape[:2]
    unit = weight
    out_scale = None
    if demodulate:
        unit = cached_form(weight, "unit rms", lambda: weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt())
        styles = styles * styles.square().mean().rsqrt()
        energy = cached_form(weight, "unit rms energy", lambda: unit.square().sum(dim=[2, 3]))  # [C_out, C_in]
        out_scale = (styles.square() @ energy.t() + 1e-8).rsqrt_()  # [N, C_out]
    in_scale = styles if input_gain is None else styles * input_gain.expand(batch_size, c_in)
    filters = cached_form(weight, ("winograd43", "unit rms" if demodulate else "raw"), lambda: transform_filter(unit))
    return conv3x3_winograd(x, filters, in_scale=in_scale, out_scale=out_scale, padding=padding)


def pointwise_conv_channels_last(x: torch.Tensor,  # [N, C_in, H, W]
                                 w: torch.Tensor,  # [N, C_out, C_in] per-sample 1x1 weights
                                 ) -> torch.Tensor:  # [N, C_out, H, W], channels-last
    """A per-sample 1x1 conv as one batched matmul over the pixels of channels-last data.

    On the CPU with one thread PyTorch sends 1x1 convs to its slow im2col path, which also converts
    channels-last input (what the filtered_lrelu path returns) to NCHW and back: measured 1.2-6x
    slower than this matmul at StyleGAN3-R's 64-px shapes. Same sums, in the matmul's order.
    """
    n, c_in, h, wd = x.shape
    pixels = x.permute(0, 2, 3, 1).reshape(n, h * wd, c_in)  # a view for channels-last x
    out = torch.matmul(pixels, w.transpose(1, 2))  # [N, H*W, C_out]
    return out.reshape(n, h, wd, -1).permute(0, 3, 1, 2)
