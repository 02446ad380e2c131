"""Shared resampling maths: sinc, Lanczos, low-pass filter design and band-limited transform filters.

One module, used by the generators (filter construction), the equivariance metrics and the
untransform / video views, so that every place resamples with the same numbers.
"""
import functools

import numpy as np
import torch
import torch.nn.functional as F


# ---- Normalised sinc: sin(pi x) / (pi x), with the removable singularity at 0 filled by 1 ------
def sinc(x: torch.Tensor) -> torch.Tensor:
    arg = np.pi * x.abs()
    tiny = arg < 1e-30
    return torch.where(tiny, torch.ones_like(x), torch.sin(arg) / torch.where(tiny, torch.ones_like(arg), arg))


# ---- Lanczos window of half-width a: sinc(x / a) for |x| < a, zero beyond ------------------------
def lanczos_window(x: torch.Tensor, a: float) -> torch.Tensor:
    u = x.abs() / a
    return torch.where(u < 1, sinc(u), torch.zeros_like(u))


# ---- Rotation in NVIDIA's 3x3 convention: [[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]] -------------
def rotation_matrix(angle, dtype=torch.float32) -> torch.Tensor:
    """Angle in radians (> 0 counter-clockwise as displayed); float32 like NVIDIA's metric by default."""
    angle = torch.as_tensor(angle, dtype=dtype)
    c, s = angle.cos(), angle.sin()
    one, zero = torch.ones_like(c), torch.zeros_like(c)
    return torch.stack([torch.stack([c, s, zero]), torch.stack([-s, c, zero]), torch.stack([zero, zero, one])])


# ---- Oriented band-limit filter for an affine image transform (Karras et al. 2021, appendix E.3) --
# The ideal filter is the convolution of a sinc band-limited in the input frame with one band-limited
# in the output frame (rotated by `mat`), windowed by the convolution of the two matching Lanczos
# windows, sampled on an `up`-times finer grid. The sincs have no compact support, so their
# convolution is done circularly with FFTs on a grid of half-width `aflt`, exactly like NVIDIA's
# metric; the windows have compact support, so theirs is a small direct convolution. Everything that
# does not depend on `mat` is cached, which keeps one 4x filter at a few milliseconds on a CPU.
@functools.lru_cache(maxsize=8)
def _circular_tap_grid(aflt: int, up: int, dtype: torch.dtype, device: str):
    """Tap positions (x, y) on the FFT grid, in circular order: index 0 is the origin."""
    size = 2 * aflt * up - 1
    k = torch.arange(size, dtype=torch.float64)
    taps = (torch.where(k < aflt * up, k, k - size) / up).to(dtype=dtype, device=device)
    yi, xi = torch.meshgrid(taps, taps, indexing="ij")
    return xi, yi


@functools.lru_cache(maxsize=8)
def _input_sinc_spectrum(aflt: int, up: int, cutoff_in: float, dtype: torch.dtype, device: str):
    xi, yi = _circular_tap_grid(aflt, up, dtype, device)
    return torch.fft.rfft2(sinc(xi * cutoff_in) * sinc(yi * cutoff_in))


@functools.lru_cache(maxsize=16)
def _centred_tap_grid(radius: int, up: int, dtype: torch.dtype, device: str):
    """Tap positions (x, y) for offsets -radius..radius, in natural order."""
    taps = torch.arange(-radius, radius + 1, dtype=dtype, device=device) / up
    yi, xi = torch.meshgrid(taps, taps, indexing="ij")
    return xi, yi


def _apply_linear_part(mat: torch.Tensor, xi: torch.Tensor, yi: torch.Tensor):
    return xi * mat[0, 0] + yi * mat[0, 1], xi * mat[1, 0] + yi * mat[1, 1]


def affine_bandlimit_filter(mat, a: float = 3, amax: int = 16, aflt: int = 64, up: int = 4,
                            cutoff_in: float = 1, cutoff_out: float = 1) -> torch.Tensor:
    """2-D FIR filter [2*amax*up - 1]^2 (float32) with NVIDIA's numbers for the metric's resampling.

    Args:
        mat:        3x3 affine matrix (only its 2x2 linear part matters) on the device to build on.
        a:          Lanczos window half-width in input pixels.
        amax:       filter half-width in input pixels (a <= amax < aflt).
        aflt:       half-width of the grid the sincs are convolved on.
        up:         upsampling factor the filter is designed for (1 = plain filtering).
        cutoff_in:  sinc cutoff in the input frame (cycles per pixel times 2).
        cutoff_out: sinc cutoff in the output frame.
    Each of the up x up polyphase components is normalised to unit DC gain (then divided by up^2,
    which upsample2d's gain restores).
    """
    if not a <= amax < aflt:
        raise ValueError(f"need a <= amax < aflt, got a={a}, amax={amax}, aflt={aflt}")
    mat = torch.as_tensor(mat).to(torch.float32)
    dtype, device = mat.dtype, str(mat.device)
    half = amax * up - 1

    # Sinc part: circular convolution on the full grid, keeping offsets -half..half.
    xi, yi = _circular_tap_grid(aflt, up, dtype, device)
    size = xi.shape[0]
    xo, yo = _apply_linear_part(mat, xi, yi)
    sinc_out = sinc(xo * cutoff_out) * sinc(yo * cutoff_out)
    spectrum = _input_sinc_spectrum(aflt, up, float(cutoff_in), dtype, device) * torch.fft.rfft2(sinc_out)
    keep = torch.arange(-half, half + 1, device=mat.device) % size
    f = torch.fft.irfft2(spectrum, s=(size, size))[keep][:, keep]

    # Window part: the input window is zero beyond |x| >= a, so a direct convolution over
    # offsets -(half + r_in)..(half + r_in) of the output window gives the same numbers.
    r_in = int(np.ceil(a * up)) - 1
    wxi, wyi = _centred_tap_grid(r_in, up, dtype, device)
    window_in = lanczos_window(wxi, a) * lanczos_window(wyi, a)
    oxi, oyi = _centred_tap_grid(half + r_in, up, dtype, device)
    oxo, oyo = _apply_linear_part(mat, oxi, oyi)
    window_out = lanczos_window(oxo, a) * lanczos_window(oyo, a)
    w = F.conv2d(window_out[None, None], window_in[None, None])[0, 0]  # window_in is even: conv == correlation

    # Normalise each polyphase component (pad to a multiple of up, then drop the pad again).
    n = 2 * amax * up
    f = F.pad(f * w, [0, 1, 0, 1]).reshape(2 * amax, up, 2 * amax, up)
    f = f / f.sum(dim=(0, 2), keepdim=True) / up ** 2
    return f.reshape(n, n)[:-1, :-1]


# ---- Kaiser-windowed low-pass FIR design (Karras et al. 2021, section 3.2 and appendix C) -----------
# Kaiser's empirical formulas: the stopband attenuation (dB) a window of `numtaps` taps reaches over
# a transition band of `width` (as a fraction of Nyquist), and the window beta that achieves it.
def kaiser_attenuation(numtaps: int, width: float) -> float:
    return 2.285 * (numtaps - 1) * np.pi * width + 7.95


def kaiser_beta(attenuation: float) -> float:
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    return 0.0


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False):
    """StyleGAN3's resampling filter: `numtaps` taps, passband to `cutoff`, transition band `width`
    (all in the units of the sampling rate `fs`), unit DC gain.

    Separable filters are a windowed sinc, returned 1-D [numtaps] (the ops apply them along x and y);
    `radial=True` gives the rotation-invariant 2-D [numtaps, numtaps] jinc filter used by StyleGAN3-R.
    A single tap is the identity, returned as None (the ops' "no filter").
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    beta = kaiser_beta(kaiser_attenuation(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    if not radial:
        rel_cutoff = cutoff / (fs / 2)
        taps = np.arange(numtaps) - (numtaps - 1) / 2
        f = rel_cutoff * np.sinc(rel_cutoff * taps) * window
    else:
        import scipy.special  # only the radial design needs a Bessel function

        x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
        r = np.hypot(*np.meshgrid(x, x))
        # 2-D ideal low-pass of radius `cutoff`: J1(2 pi cutoff r) / (pi r); an even tap count never hits r = 0.
        f = scipy.special.j1(2 * cutoff * np.pi * r) / (np.pi * r) * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)
