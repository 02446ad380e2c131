"""The per-pixel error map is one definition (`core.image_quality.squared_error_map`: squared error
averaged over channels) wherever it is shown: the metric's mean maps, the app's panel and the
comparison report read the same numbers, for grey models as for RGB ones."""
import math

import numpy as np
import pytest
import torch

from eqviz.app.panels.equivariance import error_map_rgba
from eqviz.core.colormaps import error_colours
from eqviz.core.image_quality import squared_error_map
from eqviz.core.images import rgba
from eqviz.metrics.equivariance import compute_equivariance, equivariance_errors
from eqviz.networks.build import build_generator
from eqviz.networks.config import StyleGAN3Config
from eqviz.report.html import heatmap_figure
from eqviz.report.study import CheckpointReport, Comparison, CompareSpec


def tiny_stylegan3(channels: int) -> torch.nn.Module:
    """A random 16-px StyleGAN3 whose images span about [-1, 1] (its output layer scaled up)."""
    torch.manual_seed(channels)
    G = build_generator(StyleGAN3Config(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=channels,
                                        channel_base=256, channel_max=16, num_layers=4))
    getattr(G.synthesis, G.synthesis.layer_names[-1]).weight.mul_(30)
    return G


def test_the_map_is_the_channel_mean_of_the_squared_error_inside_the_mask():
    img = torch.tensor([[[[1.0, 0.0]], [[0.5, 0.0]], [[0.0, 0.0]]]])  # [1, 3, 1, 2]
    ref = torch.zeros_like(img)
    mask = torch.tensor([[[[1.0, 0.0]]]])
    np.testing.assert_allclose(squared_error_map(img, ref, mask), [[[(1.0 + 0.25 + 0.0) / 3, 0.0]]], rtol=1e-7)
    grey = img[:, :1]
    assert squared_error_map(grey, ref[:, :1], mask).tolist() == [[[1.0, 0.0]]]


@pytest.mark.parametrize("channels", [1, 3])
def test_the_mean_of_the_map_over_compared_pixels_is_the_metrics_mse(channels):
    """PSNR = 20 log10(2) - 10 log10(MSE): the map shows that MSE pixel by pixel, whatever the channels."""
    G = tiny_stylegan3(channels)
    ws = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(1)), None)
    errors = equivariance_errors(G, ws, t_frac=(0.13, -0.07), angle=0.2)
    for e in errors.values():
        mse_of_map = float(e.error_map.double().sum() / e.mask_map.double().sum())
        assert mse_of_map == pytest.approx(e.sq_err_sum / e.mask_sum, rel=1e-5)
        assert e.psnr_db == pytest.approx(20 * math.log10(2) - 10 * math.log10(mse_of_map), abs=1e-4)


def test_a_one_channel_models_report_heatmap_shows_what_the_app_shows():
    G = tiny_stylegan3(1)
    result = compute_equivariance(G, metrics=("eqt_frac",), num_samples=2, batch_size=2)
    error_map = result.mean_error_maps["eqt_frac"]
    assert error_map.max() > 1e-3  # a random model is far from equivariant: there is something to show
    report = CheckpointReport(name="grey", path="grey.pkl", kind="StyleGAN3-T", resolution=16, eq=result,
                              samples=[np.zeros((16, 16, 3), np.uint8)])  # the report's samples are RGB
    figure = heatmap_figure(Comparison(spec=CompareSpec(checkpoints=["grey.pkl"], metrics=("eqt_frac",)),
                                       reports=[report], version="test", elapsed_s=0.0))
    shown = np.asarray(figure.axes[0].images[0].get_array())
    np.testing.assert_allclose(shown, np.clip(error_map, 1e-6, None), rtol=1e-12)
    # The app's panel colours the same numbers on the same scale.
    expected = rgba(error_colours(torch.from_numpy(error_map)).numpy())
    np.testing.assert_array_equal(error_map_rgba(error_map), expected)
