"""StyleGAN2's modulated conv: NVIDIA's formulation (impl 'ref') and the fast CPU path (impl 'fast')
against a float64 textbook computation of the same maths."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import textbook_ops
from eqviz.cuda_ops.dispatch import default_impl
from eqviz.cuda_ops.upfirdn2d import setup_filter
from eqviz.networks import modulated_conv
from eqviz.networks.modulated_conv import conv_transpose2d_polyphase, modulated_conv2d, modulated_conv2d_fast, use_fast_conv
from eqviz.networks.stylegan2 import SynthesisLayer

RESAMPLE_FILTER = setup_filter([1, 3, 3, 1])


def textbook_modulated_conv(x, weight, styles, noise, up, padding, f, demodulate, flip_weight):
    """Per sample in float64: scale the weights by the styles, normalise each output channel, then
    conv(upsample(x)) with upsample = zero insertion + f at gain up², as NVIDIA defines conv2d_resample."""
    x, weight, styles = x.double(), weight.double(), styles.double()
    outputs = []
    for n in range(x.shape[0]):
        w = weight * styles[n].reshape(1, -1, 1, 1)
        if demodulate:
            w = w / torch.sqrt(w.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8)
        if not flip_weight:
            w = w.flip([2, 3])  # a true convolution is a correlation with the flipped kernel
        xn, pad = x[n:n + 1], padding
        if up > 1:
            fw = f.shape[-1]
            p0, p1 = padding + (fw + up - 1) // 2, padding + (fw - up) // 2
            xn = textbook_ops.upfirdn2d(xn, f, up=(up, up), padding=(p0, p1, p0, p1), gain=up ** 2)
            pad = 0
        outputs.append(F.conv2d(xn, w, padding=pad))
    y = torch.cat(outputs)
    return y + noise.double() if noise is not None else y


def relative_max_error(actual, expected):
    return float((actual.double() - expected).abs().max() / expected.abs().max())


# Sizes 4 and 20: the fast path scales the feature maps at the first, the weights at the second.
@pytest.mark.parametrize("size", [4, 20])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
def test_ref_and_fast_modulated_conv_equal_textbook(size, batch, up, demodulate):
    torch.manual_seed(batch * 10 + up)
    x = torch.randn(batch, 24, size, size)
    weight = torch.randn(16, 24, 3, 3)
    styles = torch.randn(batch, 24)
    noise = torch.randn(size * up, size * up)
    kwargs = dict(up=up, padding=1, flip_weight=(up == 1), demodulate=demodulate)  # StyleGAN2's convention
    expected = textbook_modulated_conv(x, weight, styles, noise, f=RESAMPLE_FILTER, **kwargs)
    for impl in ("ref", "fast"):
        for fused in (True, False):
            with torch.inference_mode(), default_impl(impl):
                y = modulated_conv2d(x, weight, styles, noise=noise, resample_filter=RESAMPLE_FILTER, fused=fused,
                                     **kwargs)
            assert y.shape == expected.shape
            assert relative_max_error(y, expected) < 1e-5, (impl, fused)


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("sample_by_sample", [True, False])
def test_a_batch_of_large_samples_runs_one_by_one_with_each_its_own_noise(up, sample_by_sample, monkeypatch):
    monkeypatch.setattr(modulated_conv, "SAMPLE_BY_SAMPLE_VALUES", 1 if sample_by_sample else 2**40)
    torch.manual_seed(up)
    x, weight, styles = torch.randn(3, 24, 10, 10), torch.randn(16, 24, 3, 3), torch.randn(3, 24)
    noise = torch.randn(3, 1, 10 * up, 10 * up)  # noise_mode 'random': one map per sample
    kwargs = dict(up=up, padding=1, flip_weight=(up == 1), demodulate=True)
    expected = textbook_modulated_conv(x, weight, styles, noise, f=RESAMPLE_FILTER, **kwargs)
    with torch.inference_mode(), default_impl("fast"):
        y = modulated_conv2d(x, weight, styles, noise=noise, resample_filter=RESAMPLE_FILTER, **kwargs)
    assert relative_max_error(y, expected) < 1e-5


def test_fast_path_runs_for_impl_fast_without_autograd_only():
    x = torch.zeros(1, 4, 8, 8)
    with default_impl("ref"), torch.no_grad():
        assert not use_fast_conv(x)
    with default_impl("fast"):
        assert not use_fast_conv(x)  # autograd on: NVIDIA's formulation, which it can differentiate
    with default_impl("fast"), torch.no_grad():
        assert use_fast_conv(x)
        y = modulated_conv2d(torch.randn(1, 8, 8, 8), torch.randn(8, 8, 3, 3), torch.randn(1, 8), padding=1)
    assert y.is_contiguous(memory_format=torch.channels_last)  # the fast path ran


def test_fast_path_sees_in_place_weight_updates():
    x, styles = torch.randn(1, 8, 20, 20), torch.randn(1, 8)
    weight = torch.nn.Parameter(torch.randn(6, 8, 3, 3))
    kwargs = dict(up=2, padding=1, flip_weight=False, resample_filter=RESAMPLE_FILTER)
    with torch.no_grad(), default_impl("fast"):
        modulated_conv2d(x, weight, styles, **kwargs)  # fills the cache
        weight.mul_(-0.5)
        actual = modulated_conv2d(x, weight, styles, **kwargs)
    expected = textbook_modulated_conv(x, weight.detach(), styles, None, up=2, padding=1, f=RESAMPLE_FILTER,
                                       demodulate=True, flip_weight=False)
    assert relative_max_error(actual, expected) < 1e-5


@pytest.mark.parametrize("up, k", [(2, 3), (2, 4), (3, 3), (2, 2)])
def test_polyphase_transposed_conv_equals_torch(up, k):
    torch.manual_seed(k)
    x = torch.randn(2, 5, 7, 6, dtype=torch.float64)
    kernel = torch.randn(4, 5, k, k, dtype=torch.float64)  # [C_out, C_in, k, k], a true convolution
    expected = F.conv_transpose2d(x, kernel.transpose(0, 1), stride=up)
    actual = conv_transpose2d_polyphase(x, kernel.flip([2, 3]), up)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("up", [1, 2])
def test_synthesis_layer_fast_path_equals_ref(up):
    torch.manual_seed(up)
    layer = SynthesisLayer(16, 8, w_dim=12, resolution=8, up=up, conv_clamp=0.5).eval()
    with torch.no_grad():
        layer.noise_strength.fill_(0.3)
        layer.bias.normal_()
    x, w = torch.randn(2, 16, 8 // up, 8 // up), torch.randn(2, 12)
    with torch.inference_mode():
        with default_impl("ref"):
            expected = layer(x, w, gain=0.7)
        with default_impl("fast"):
            actual = layer(x, w, gain=0.7)
    assert float(expected.abs().max()) == pytest.approx(0.5 * 0.7)  # the clamp is exercised
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=0, atol=1e-5 * float(expected.abs().max()))


def test_fast_modulated_conv_takes_only_a_positive_gain():
    """The gain is folded in before the caller's leaky ReLU, which commutes with positive scales only."""
    x, weight, styles = torch.randn(1, 4, 6, 6), torch.randn(4, 4, 3, 3), torch.randn(1, 4)
    with torch.no_grad(), pytest.raises(ValueError, match="gain must be positive"):
        modulated_conv2d_fast(x, weight, styles, padding=1, gain=0.0)
