"""StyleGAN3's low-pass filter design against scipy's FIR design and NVIDIA's stored filters."""
import json

import numpy as np
import pytest
import scipy.signal
import scipy.special

from eqviz.networks.filter_design import design_lowpass_filter, kaiser_attenuation, kaiser_beta

from tolerances import float32_rounding

# (numtaps, cutoff, width, fs) spanning the sampling rates and band limits StyleGAN3 layers use.
DESIGNS = [
    (12, 2.0, 12.0, 32),
    (12, 2.5198, 10.96, 32),
    (24, 4.0, 8.0, 64),
    (12, 32.0, 14.79, 128),
    (18, 7.3, 5.1, 96),
    (13, 3.0, 4.0, 20),
]


@pytest.mark.parametrize("numtaps, cutoff, width, fs", DESIGNS)
def test_separable_filter_equals_scipy_firwin(numtaps, cutoff, width, fs):
    ours = design_lowpass_filter(numtaps, cutoff, width, fs)
    oracle = scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
    assert ours.shape == (numtaps,)
    np.testing.assert_allclose(ours.numpy(), oracle, rtol=0, atol=1e-7)


@pytest.mark.parametrize("attenuation", [10.0, 21.0, 35.0, 50.0, 80.0])
def test_kaiser_beta_equals_scipy(attenuation):
    assert kaiser_beta(attenuation) == pytest.approx(scipy.signal.kaiser_beta(attenuation), abs=1e-12)


def test_kaiser_attenuation_equals_scipy():
    assert kaiser_attenuation(24, 0.3) == pytest.approx(scipy.signal.kaiser_atten(24, 0.3), abs=1e-12)


@pytest.mark.parametrize("numtaps, cutoff, width, fs", [(12, 2.0, 12.0, 32), (12, 5.04, 21.9, 64), (24, 4.0, 8.0, 64)])
def test_radial_filter_equals_windowed_jinc(numtaps, cutoff, width, fs):
    # Textbook 2-D ideal low-pass (jinc) times the separable Kaiser window, unit DC gain.
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = scipy.signal.windows.kaiser(numtaps, beta, sym=True)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.sqrt(x[:, None] ** 2 + x[None, :] ** 2)
    oracle = 2 * cutoff * scipy.special.j1(2 * np.pi * cutoff * r) / (2 * np.pi * cutoff * r) * np.outer(window, window)
    oracle /= oracle.sum()
    ours = design_lowpass_filter(numtaps, cutoff, width, fs, radial=True)
    assert ours.shape == (numtaps, numtaps)
    np.testing.assert_allclose(ours.numpy(), oracle, rtol=0, atol=1e-7)


def test_radial_filter_is_symmetric_with_unit_dc_gain():
    f = design_lowpass_filter(12, 5.04, 21.9, 64, radial=True).double()
    assert float(f.sum()) == pytest.approx(1.0, abs=1e-6)
    assert bool((f == f.T).all()) and bool((f == f.flip(0)).all()) and bool((f == f.flip(1)).all())


def test_single_tap_is_the_identity_none():
    assert design_lowpass_filter(1, 2.0, 4.0, 16) is None
    with pytest.raises(ValueError, match="numtaps"):
        design_lowpass_filter(0, 2.0, 4.0, 16)


def test_designs_equal_nvidia_filters_of_sg3t_64(reference_dir):
    info = json.loads((reference_dir / "weights" / "sg3t_64.json").read_text())
    weights = np.load(reference_dir / "weights" / "sg3t_64.npz")
    checked = 0
    for layer in info["synthesis_layers"]:
        if layer["name"] == "input" or layer["is_torgb"]:
            continue
        up = design_lowpass_filter(layer["up_taps"], layer["in_cutoff"], layer["in_half_width"] * 2,
                                   layer["tmp_sampling_rate"])
        down = design_lowpass_filter(layer["down_taps"], layer["out_cutoff"], layer["out_half_width"] * 2,
                                     layer["tmp_sampling_rate"], radial=layer["down_radial"])
        for ours, key in ((up, "up_filter"), (down, "down_filter")):
            expected = weights[f"synthesis.{layer['name']}.{key}"]
            np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=float32_rounding(expected))
        checked += 1
    assert checked == 14
