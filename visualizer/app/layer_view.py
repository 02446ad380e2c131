"""What a layer view or an FFT view shows: feature channels as a picture, the power spectrum in dB,
and the statistics beside them (NVIDIA's visualizer offers the same readings).

Pure functions of a tensor and the view settings; the frame renderer calls them on its thread.
"""
from __future__ import annotations

import numpy as np
import torch

from eqviz.app.state import ViewState


def shown_channels(feat: torch.Tensor, view: ViewState) -> torch.Tensor:
    """The channels a layer view shows [k, H, W]: three from `view.channel` on (RGB), or that one."""
    c = feat.shape[0]
    first = min(max(view.channel, 0), c - 1)
    if view.channel_mode == "rgb":
        return feat[[min(first + k, c - 1) for k in range(3)]]
    return feat[first:first + 1]


def channels_to_rgb(feat: torch.Tensor, view: ViewState) -> np.ndarray:
    """Feature map [C, H, W] -> [H, W, 3] in [0, 1]: three channels as RGB, or one as grey, made
    brighter or darker by `view.brightness_db` (a gain of 10^(dB/20), as NVIDIA's 'brightness')."""
    x = shown_channels(feat, view).float().expand(3, -1, -1)
    gain = 10.0 ** (view.brightness_db / 20.0)
    if view.normalisation == "per-frame":
        lo, hi = float(x.min()), float(x.max())
        x = (x - lo) / (hi - lo) * gain if hi > lo else torch.zeros_like(x)
    else:
        x = (x * gain + 1) / 2   # NVIDIA's [-1, 1] range, scaled about its middle
    return x.clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def spectrum_rgb(x: torch.Tensor, view: ViewState) -> np.ndarray:
    """[C, H, W] -> [H, W, 3] grey: the power spectrum summed over channels, each channel first
    windowed by a 2-D Kaiser window (`view.fft_beta`), centred, in dB relative to its mean, shown
    from -`view.fft_range_db` (black) to +`view.fft_range_db` (white)."""
    x = x.double()
    h, w = x.shape[-2:]
    window = (torch.kaiser_window(h, periodic=False, beta=view.fft_beta, dtype=torch.float64)[:, None]
              * torch.kaiser_window(w, periodic=False, beta=view.fft_beta, dtype=torch.float64)[None, :])
    power = torch.fft.fft2(x * window.to(x.device)).abs().square().sum(0)
    power = torch.fft.fftshift(power, dim=(-2, -1))
    db = 10 * torch.log10(power / power.mean()) if float(power.mean()) > 0 else torch.zeros_like(power)
    grey = ((db / view.fft_range_db + 1) / 2).clamp(0, 1)
    return grey.float().unsqueeze(-1).expand(-1, -1, 3).cpu().numpy()


def layer_stats(feat: torch.Tensor, view: ViewState) -> tuple[float, ...]:
    """(mean, std, max |x|) over all channels, then over the shown ones: the table of the View panel."""
    values = []
    for x in (feat, shown_channels(feat, view)):
        x = x.double()
        values += [float(x.mean()), float(x.std()) if x.numel() > 1 else 0.0, float(x.abs().max())]
    return tuple(values)
