"""Winograd F(4x4, 3x3) convolution against float64 torch conv2d, and its use inside StyleGAN2's fast path."""
import contextlib
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from eqviz.cuda_ops.dispatch import default_impl
from eqviz.cuda_ops.tensor_cache import has_cached_forms
from eqviz.networks import winograd_conv
from eqviz.networks import load_generator
from eqviz.networks.modulated_conv import modulated_conv2d, modulated_conv2d_stylegan3
from eqviz.networks.stylegan2 import SynthesisLayer
from eqviz.networks.winograd_conv import POINTS, conv3x3_winograd, toom_cook_matrices, transform_filter, winograd_pays
from test_modulated_conv_fast import RESAMPLE_FILTER, relative_max_error, textbook_modulated_conv

# float32 rounding of F(4x4, 3x3) at these points: measured 0.4-4e-6 of the output's range at 3-512
# channels, where oneDNN's direct conv shows 0.1-3e-6 (both against float64).
TOLERANCE = 1e-5


def test_toom_cook_matrices_correlate_exactly():
    a_t, g, b_t = toom_cook_matrices(POINTS, 4, 3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d = [Fraction(int(v)) for v in rng.integers(-9, 10, 6)]
        taps = [Fraction(int(v)) for v in rng.integers(-9, 10, 3)]
        transformed = [sum(b * v for b, v in zip(row, d)) * sum(c * t for c, t in zip(g_row, taps))
                       for row, g_row in zip(b_t, g)]
        y = [sum(a * m for a, m in zip(row, transformed)) for row in a_t]
        assert y == [sum(taps[k] * d[i + k] for k in range(3)) for i in range(4)]


# Multiples of 4 and not (partial last tiles), non-square, batch > 1, C_in != C_out, a single row;
# padding 1 ('same', StyleGAN2), 2 ('full', StyleGAN3: output H+2) and 0 ('valid', where H >= 3).
SHAPES = [(1, 8, 8, 8, 8), (2, 5, 7, 7, 4), (1, 3, 16, 1, 9), (3, 16, 4, 11, 13), (1, 6, 5, 6, 2)]
@pytest.mark.parametrize("n, c_in, c_out, h, w, padding",
                         [shape + (p,) for shape in SHAPES for p in (0, 1, 2) if min(shape[3:]) + 2 * p >= 3])
def test_winograd_equals_direct_convolution(n, c_in, c_out, h, w, padding):
    torch.manual_seed(h * w)
    x = torch.randn(n, c_in, h, w)
    weight = torch.randn(c_out, c_in, 3, 3)
    expected = F.conv2d(x.double(), weight.double(), padding=padding)
    for layout in (torch.contiguous_format, torch.channels_last):
        actual = conv3x3_winograd(x.contiguous(memory_format=layout), transform_filter(weight), padding=padding)
        assert actual.shape == expected.shape
        assert relative_max_error(actual, expected) < TOLERANCE


# Sizes with whole tiles (noise added in the scatter) and partial ones (added after); a zero in the
# output scale (the bias cannot ride on the transform's point 1 then).
@pytest.mark.parametrize("h, w", [(8, 12), (10, 9)])
@pytest.mark.parametrize("noise_shape", [None, "map", "per sample"])
@pytest.mark.parametrize("out_scale_kind", ["per sample", "shared", "with a zero"])
@pytest.mark.parametrize("padding", [1, 2])
def test_winograd_scales_bias_and_noise_equal_them_around_the_conv(h, w, noise_shape, out_scale_kind, padding,
                                                                    monkeypatch):
    monkeypatch.setattr(winograd_conv, "BAND_VALUES", 1)  # one tile row per band: the band seams are exercised
    monkeypatch.setattr(winograd_conv, "BAND_TILES_PER_CHANNEL", 0)
    torch.manual_seed(h * w)
    x, weight = torch.randn(2, 6, h, w), torch.randn(5, 6, 3, 3)
    in_scale, bias = torch.randn(2, 6), torch.randn(5)
    out_scale = torch.randn(2, 5) if out_scale_kind == "per sample" else torch.randn(5)
    if out_scale_kind == "with a zero":
        out_scale[2] = 0
    ho, wo = h + 2 * padding - 2, w + 2 * padding - 2
    noise = {None: None, "map": torch.randn(ho, wo), "per sample": torch.randn(2, 1, ho, wo)}[noise_shape]
    expected = F.conv2d(x.double() * in_scale.double()[:, :, None, None], weight.double(), padding=padding)
    expected = expected * out_scale.double().reshape(-1 if out_scale.dim() == 2 else 1, 5, 1, 1)
    expected = expected + bias.double().reshape(1, 5, 1, 1)
    if noise is not None:
        expected = expected + noise.double()
    actual = conv3x3_winograd(x, transform_filter(weight), in_scale=in_scale, out_scale=out_scale, bias=bias,
                              noise=noise, padding=padding)
    assert relative_max_error(actual, expected) < TOLERANCE


def test_winograd_is_chosen_for_wide_layers_only():
    weight = torch.zeros(512, 512, 3, 3)
    assert winograd_pays(torch.zeros(1, 512, 64, 64), weight)
    assert winograd_pays(torch.zeros(1, 512, 16, 16), weight)
    assert not winograd_pays(torch.zeros(1, 512, 8, 8), weight)  # too few pixels to repay the transforms
    narrow = torch.zeros(1, 128, 256, 256), torch.zeros(128, 128, 3, 3)
    with torch_threads(2):
        assert not winograd_pays(*narrow)  # the direct conv scales better to two threads
    with torch_threads(1):
        assert winograd_pays(*narrow)
        assert not winograd_pays(torch.zeros(1, 64, 512, 512), torch.zeros(64, 64, 3, 3))  # too narrow
    assert not winograd_pays(torch.zeros(1, 512, 64, 64), torch.zeros(512, 512, 1, 1))  # not 3x3
    assert not winograd_pays(torch.zeros(1, 512, 64, 64, dtype=torch.float64), weight.double())
    with torch_threads(2):  # StyleGAN3's 'full' convs: the direct conv is slower at padding 2
        assert winograd_pays(*narrow, padding=2)
        assert not winograd_pays(torch.zeros(1, 64, 256, 256), torch.zeros(64, 64, 3, 3), padding=2)
    assert not winograd_pays(torch.zeros(1, 512, 64, 64), weight, padding=3)  # wider than the tile's margin


@contextlib.contextmanager
def torch_threads(count):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def winograd_everywhere(monkeypatch):
    """Lets the small test shapes take the Winograd branch of the fast path."""
    monkeypatch.setattr(winograd_conv, "MIN_CHANNELS", 1)
    monkeypatch.setattr(winograd_conv, "MIN_CHANNELS_ONE_THREAD", 1)
    monkeypatch.setattr(winograd_conv, "MIN_CHANNELS_FULL", 1)
    monkeypatch.setattr(winograd_conv, "MIN_PIXELS", 1)


# Size 4 scales the feature maps (cached filters), 20 the 16 transformed matrices per call.
@pytest.mark.parametrize("size", [4, 20])
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("flip_weight", [True, False])
def test_fast_modulated_conv_through_winograd_equals_textbook(winograd_everywhere, size, batch, flip_weight):
    torch.manual_seed(size + batch)
    x, weight, styles = torch.randn(batch, 24, size, size), torch.randn(16, 24, 3, 3), torch.randn(batch, 24)
    noise = torch.randn(size, size)
    kwargs = dict(up=1, padding=1, flip_weight=flip_weight, demodulate=True)
    expected = textbook_modulated_conv(x, weight, styles, noise, f=RESAMPLE_FILTER, **kwargs)
    with torch.inference_mode(), default_impl("fast"):
        actual = modulated_conv2d(x, weight, styles, noise=noise, **kwargs)
    assert relative_max_error(actual, expected) < TOLERANCE


@pytest.mark.parametrize("batch", [1, 2])
def test_synthesis_layer_through_winograd_equals_ref(winograd_everywhere, batch):
    torch.manual_seed(batch)
    layer = SynthesisLayer(16, 8, w_dim=12, resolution=12, conv_clamp=0.5).eval()
    with torch.no_grad():
        layer.noise_strength.fill_(0.3)
        layer.bias.normal_()
    x, w = torch.randn(batch, 16, 12, 12), torch.randn(batch, 12)
    with torch.inference_mode():
        with default_impl("ref"):
            expected = layer(x, w, gain=0.7)
            layer.conv_clamp = None
            scale = float(layer(x, w, gain=0.7).abs().max())  # the range the rounding is relative to
            layer.conv_clamp = 0.5
        with default_impl("fast"):
            actual = layer(x, w, gain=0.7)
    assert float(expected.abs().max()) == pytest.approx(0.5 * 0.7)  # the clamp is exercised
    assert scale > 0.5 * 0.7
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=0, atol=TOLERANCE * scale)


def test_cached_winograd_filters_follow_in_place_weight_updates(winograd_everywhere):
    x, styles = torch.randn(2, 8, 6, 6), torch.randn(2, 8)
    weight = torch.nn.Parameter(torch.randn(6, 8, 3, 3))
    with torch.no_grad(), default_impl("fast"):
        modulated_conv2d(x, weight, styles, padding=1)  # fills the cache
        assert has_cached_forms(weight)
        assert not weight.__dict__  # nothing on the tensor: a deepcopy meanwhile iterates its __dict__
        weight.mul_(-0.5)
        weight[0].zero_()
        actual = modulated_conv2d(x, weight, styles, padding=1)
    expected = textbook_modulated_conv(x, weight.detach(), styles, None, up=1, padding=1, f=None,
                                       demodulate=True, flip_weight=True)
    assert relative_max_error(actual, expected) < TOLERANCE


def textbook_modulated_conv_stylegan3(x, weight, styles, demodulate, padding, input_gain):
    """StyleGAN3's per-sample weights built literally, in float64, one plain conv per sample."""
    x, weight, styles = x.double(), weight.double(), styles.double()
    if demodulate:
        weight = weight / weight.square().mean([1, 2, 3], keepdim=True).sqrt()
        styles = styles / styles.square().mean().sqrt()
    outputs = []
    for i in range(x.shape[0]):
        w = weight * styles[i].reshape(1, -1, 1, 1)
        if demodulate:
            w = w / (w.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        w = w * input_gain.double().expand(x.shape[0], x.shape[1])[i].reshape(1, -1, 1, 1)
        outputs.append(F.conv2d(x[i:i + 1], w, padding=padding))
    return torch.cat(outputs)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("gain_kind", ["scalar", "per sample"])
def test_stylegan3_modulated_conv_through_winograd_equals_textbook(winograd_everywhere, batch, demodulate, gain_kind):
    torch.manual_seed(batch + 2 * demodulate)
    x, styles = torch.randn(batch, 12, 10, 10), torch.randn(batch, 12) + 1
    weight = torch.nn.Parameter(torch.randn(9, 12, 3, 3))
    input_gain = torch.tensor(0.7) if gain_kind == "scalar" else torch.rand(batch, 12) + 0.5
    expected = textbook_modulated_conv_stylegan3(x, weight.detach(), styles, demodulate, 2, input_gain)
    with torch.inference_mode(), default_impl("fast"):
        actual = modulated_conv2d_stylegan3(x, weight, styles, demodulate=demodulate, padding=2,
                                            input_gain=input_gain)
        assert has_cached_forms(weight)  # the transformed filters are kept with the weight
        with default_impl("ref"):
            reference = modulated_conv2d_stylegan3(x, weight, styles, demodulate=demodulate, padding=2,
                                                   input_gain=input_gain)
    assert actual.shape == (batch, 9, 12, 12)
    assert relative_max_error(actual, expected) < TOLERANCE
    assert relative_max_error(reference, expected) < TOLERANCE  # the oracle is the grouped conv's sums


def test_stylegan3_t_through_winograd_renders_nvidia_golden_image(winograd_everywhere, reference_dir):
    """Every 3x3 layer of the reference StyleGAN3-T (64 channels, below the cut-off otherwise) through
    the Winograd path, against NVIDIA's own render with the golden-image tolerance."""
    golden = np.load(reference_dir / "golden" / "sg3t_64_render.npz")
    G = load_generator(reference_dir / "pkl" / "sg3t_64.pkl")
    i = 3  # truncated with a cutoff, rotated and translated
    cutoff = None if golden["cutoff"][i] < 0 else int(golden["cutoff"][i])
    G.synthesis.input.transform.copy_(torch.from_numpy(golden["transform"][i]))
    with torch.no_grad(), default_impl("fast"):
        ws = G.mapping(torch.from_numpy(golden["z"][i:i + 1]), torch.from_numpy(golden["c"][i:i + 1]),
                       truncation_psi=float(golden["psi"][i]), truncation_cutoff=cutoff)
        img = G.synthesis(ws, noise_mode=str(golden["noise_mode"][i]))
    layers = [m for m in G.synthesis.modules() if getattr(m, "conv_kernel", 1) == 3]
    assert layers and all(has_cached_forms(layer.weight) for layer in layers)  # the Winograd filters were built
    ref = golden["img"][i]
    assert np.abs(img[0].numpy() - ref).max() <= 1e-4 * np.abs(ref).max()
