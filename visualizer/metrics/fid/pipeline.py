"""How uint8 images reach the Inception's 299x299 input: the two pipelines published FIDs use.

'tf': TensorFlow 1's `resize_bilinear` (align_corners=False, no half-pixel centres: output pixel i
samples input position i * in/out, clamped at the last pixel), then (x - 128) / 128. This is what
the TF FID code, NVIDIA's Inception pickle and torch-fidelity compute, so its numbers compare with
the StyleGAN papers'. 'pytorch-fid': x / 255, torch's bilinear interpolate (half-pixel centres),
then 2x - 1, as pytorch-fid does; its FIDs differ slightly from TF's.
"""
import torch
import torch.nn.functional as F

PIPELINES = ("tf", "pytorch-fid")
INCEPTION_SIZE = 299


def tf1_sample_positions(in_size: int, out_size: int, device) -> tuple:
    """(lower index, upper index, weight of the upper) per output pixel, in float32 as TF-1 computes them."""
    scale = torch.tensor(in_size / out_size, dtype=torch.float32)
    pos = torch.arange(out_size, dtype=torch.float32) * scale
    lower = pos.long()  # positions are >= 0, so truncation is floor
    upper = (lower + 1).clamp(max=in_size - 1)
    return lower.to(device), upper.to(device), (pos - lower.float()).to(device)


def tf1_resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """[N, C, H, W] float -> [N, C, size, size]: TF-1 bilinear (interpolate along x, then along y)."""
    y_lo, y_hi, wy = tf1_sample_positions(x.shape[2], size, x.device)
    x_lo, x_hi, wx = tf1_sample_positions(x.shape[3], size, x.device)
    top, bottom = x[:, :, y_lo], x[:, :, y_hi]                       # [N, C, size, W]
    wx = wx.view(1, 1, 1, -1)
    top = top[..., x_lo] + (top[..., x_hi] - top[..., x_lo]) * wx     # [N, C, size, size]
    bottom = bottom[..., x_lo] + (bottom[..., x_hi] - bottom[..., x_lo]) * wx
    return top + (bottom - top) * wy.view(1, 1, -1, 1)


def to_inception_input(images: torch.Tensor, pipeline: str) -> torch.Tensor:
    """uint8 [N, 3, H, W] -> float32 [N, 3, 299, 299] in [-1, 1], as the chosen pipeline prepares it."""
    if pipeline == "tf":
        return (tf1_resize_bilinear(images.float(), INCEPTION_SIZE) - 128) / 128
    x = F.interpolate(images.float() / 255, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1
