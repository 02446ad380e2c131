"""Winograd F(2x2, 3x3) convolution against float64 torch conv2d, and its use inside StyleGAN2's fast path."""
import pytest
import torch
import torch.nn.functional as F

from eqviz.cuda_ops.dispatch import default_impl
from eqviz.cuda_ops.tensor_cache import has_cached_forms
from eqviz.networks import winograd_conv
from eqviz.networks.modulated_conv import modulated_conv2d
from eqviz.networks.winograd_conv import conv3x3_winograd, transform_filter, winograd_pays
from test_modulated_conv_fast import RESAMPLE_FILTER, relative_max_error, textbook_modulated_conv


# Even and odd sizes (odd ones leave a partial last tile), non-square, batch > 1, C_in != C_out.
@pytest.mark.parametrize("n, c_in, c_out, h, w", [(1, 8, 8, 6, 6), (2, 5, 7, 7, 4), (1, 3, 16, 1, 9), (3, 16, 4, 11, 13)])
def test_winograd_equals_direct_convolution(n, c_in, c_out, h, w):
    torch.manual_seed(h * w)
    x = torch.randn(n, c_in, h, w)
    weight = torch.randn(c_out, c_in, 3, 3)
    expected = F.conv2d(x.double(), weight.double(), padding=1)
    for layout in (torch.contiguous_format, torch.channels_last):
        actual = conv3x3_winograd(x.contiguous(memory_format=layout), transform_filter(weight))
        assert actual.shape == expected.shape
        assert relative_max_error(actual, expected) < 2e-6


def test_winograd_is_chosen_for_wide_layers_only():
    weight = torch.zeros(512, 512, 3, 3)
    assert winograd_pays(torch.zeros(1, 512, 64, 64), weight)
    assert not winograd_pays(torch.zeros(1, 512, 16, 16), weight)  # too few pixels to repay the transforms
    assert not winograd_pays(torch.zeros(1, 128, 256, 256), torch.zeros(128, 128, 3, 3))  # too narrow
    assert not winograd_pays(torch.zeros(1, 512, 64, 64), torch.zeros(512, 512, 1, 1))  # not 3x3
    assert not winograd_pays(torch.zeros(1, 512, 64, 64, dtype=torch.float64), weight.double())


@pytest.fixture
def winograd_everywhere(monkeypatch):
    """Lets the small test shapes take the Winograd branch of the fast path."""
    monkeypatch.setattr(winograd_conv, "MIN_CHANNELS", 1)
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
    assert relative_max_error(actual, expected) < 1e-5


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
    assert relative_max_error(actual, expected) < 1e-5
