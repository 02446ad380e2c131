"""Image conversions every output shares: generator images to 8 bits, unit floats to 8 bits, textures.

Generator images span about [-1, 1]; NVIDIA's tools store them as uint8 with x * 127.5 + 128,
clamped and truncated. Doing the same everywhere keeps a frame identical in the app, PNGs and videos.
"""
import numpy as np
import torch


def images_to_uint8(img: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in [-1, 1] -> [N, H, W, C] uint8 on the images' device (NVIDIA's rounding)."""
    return (img.detach() * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def images_to_rgb8(img: torch.Tensor) -> torch.Tensor:
    """`images_to_uint8` with grey images repeated to RGB and extra channels dropped: [N, H, W, 3]."""
    frames = images_to_uint8(img)
    return frames.expand(*frames.shape[:-1], 3) if frames.shape[-1] == 1 else frames[..., :3]


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """One image, [1, C, H, W] or [C, H, W] in [-1, 1] -> [H, W, C] uint8 numpy."""
    if img.ndim == 3:
        img = img[None]
    return images_to_uint8(img[:1])[0].cpu().numpy()


def unit_to_uint8(x: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (display colours) -> uint8, rounded to nearest."""
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def rgba(rgb: np.ndarray) -> np.ndarray:
    """[H, W, 3] floats in [0, 1] (or uint8) -> C-contiguous [H, W, 4] float32 with opaque alpha, the
    layout a Dear PyGui raw texture reads without copying."""
    h, w, _ = rgb.shape
    out = np.empty((h, w, 4), dtype=np.float32)
    out[..., :3] = rgb / np.float32(255.0) if rgb.dtype == np.uint8 else rgb
    out[..., 3] = 1.0
    return out
