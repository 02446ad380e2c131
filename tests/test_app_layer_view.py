"""Layer and FFT views against numpy: Kaiser-windowed power spectrum in dB, brightness, statistics."""
import numpy as np
import pytest
import torch

from eqviz.app.layer_view import channels_to_rgb, layer_stats, spectrum_rgb
from eqviz.app.state import ViewState


def _feature_map(c=5, h=12, w=16, seed=0):
    return torch.from_numpy(np.random.RandomState(seed).randn(c, h, w).astype(np.float32))


@pytest.mark.parametrize("beta, range_db", [(8.0, 50.0), (0.0, 30.0), (3.5, 80.0)])
def test_spectrum_is_the_kaiser_windowed_power_in_db_about_its_mean(beta, range_db):
    x = _feature_map()
    view = ViewState(fft_beta=beta, fft_range_db=range_db)
    got = spectrum_rgb(x, view)
    xs = x.numpy().astype(np.float64)
    window = np.outer(np.kaiser(xs.shape[1], beta), np.kaiser(xs.shape[2], beta))
    power = np.fft.fftshift((np.abs(np.fft.fft2(xs * window)) ** 2).sum(0))
    db = 10 * np.log10(power / power.mean())
    expected = np.clip((db / range_db + 1) / 2, 0, 1)
    assert got.shape == (12, 16, 3)
    np.testing.assert_allclose(got[..., 0], expected, atol=1e-6)
    np.testing.assert_array_equal(got[..., 0], got[..., 2])


def test_a_wider_range_compresses_the_spectrum_towards_grey():
    x = _feature_map()
    narrow = spectrum_rgb(x, ViewState(fft_range_db=20.0))[..., 0]
    wide = spectrum_rgb(x, ViewState(fft_range_db=80.0))[..., 0]
    assert np.abs(wide - 0.5).mean() < np.abs(narrow - 0.5).mean()


@pytest.mark.parametrize("normalisation", ["per-frame", "fixed"])
def test_brightness_in_db_is_a_gain_on_what_is_shown(normalisation):
    x = _feature_map(c=3) * 0.3
    view = ViewState(normalisation=normalisation, brightness_db=20 * np.log10(2.0), channel_mode="rgb")
    got = channels_to_rgb(x, view)
    xs = x.numpy().transpose(1, 2, 0).astype(np.float64)
    if normalisation == "per-frame":
        expected = (xs - xs.min()) / (xs.max() - xs.min()) * 2.0
    else:
        expected = (xs * 2.0 + 1) / 2
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1e-6)


def test_layer_statistics_cover_all_channels_then_the_shown_one():
    x = _feature_map()
    stats = layer_stats(x, ViewState(channel_mode="single", channel=2))
    xs = x.numpy().astype(np.float64)
    expected = [xs.mean(), xs.std(ddof=1), np.abs(xs).max(), xs[2].mean(), xs[2].std(ddof=1), np.abs(xs[2]).max()]
    np.testing.assert_allclose(stats, expected, rtol=1e-9)
