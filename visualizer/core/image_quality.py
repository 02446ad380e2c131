"""How far one image is from another: the per-pixel error map every error image shows (the app's live
map, the equivariance panel, videos, the comparison report) and the PSNR the metrics and the
projector report."""
import numpy as np
import torch

PSNR_PEAK = 2.0  # images span [-1, 1]


def psnr_db(sq_err_sum, mask_sum):
    """PSNR of the pooled mean squared error with peak 2: 20 log10(2) - 10 log10(sum sq err / sum mask)."""
    sq_err_sum = np.asarray(sq_err_sum, dtype=np.float64)
    mask_sum = np.asarray(mask_sum, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 20 * np.log10(PSNR_PEAK) - 10 * np.log10(sq_err_sum / mask_sum)


def squared_error_map(img: torch.Tensor, ref: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[..., C, H, W] -> [..., H, W]: the squared error per pixel, averaged over the channels (so a grey
    model and an RGB model read on one scale), zero where the mask is."""
    return ((img - ref).square() * mask).mean(dim=-3)
