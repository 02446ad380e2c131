"""Image resampling with exact masks: whole-pixel and sub-pixel translation, band-limited affine maps and
rotations (Karras et al. 2021, app. E), the app's untransform view, and resizing panels to a tile.

The equivariance metrics, the app's frame renderer, videos and sticking figures all use these.
Every operator returns (image, mask) with NVIDIA's conventions: translations are in image-size units
(tx > 0 moves content right, ty > 0 down), angles in radians (> 0 counter-clockwise as displayed), and
the mask is 1 where the output is fully determined by the input (no zero fill in the filter footprint).
Masks are broadcast views of one [1, 1, H, W] plane, expanded to the image's shape.
"""
import numpy as np
import torch
import torch.nn.functional as F

from eqviz.core.input_transform import transform_matrix
from eqviz.cuda_ops.upfirdn2d import filter2d, upsample2d
from eqviz.networks.filter_design import affine_bandlimit_filter, lanczos_window, rotation_matrix, sinc


def _pixels(t, size: int) -> torch.Tensor:
    """A translation in image-size units as a float32 number of pixels (NVIDIA scales in float32)."""
    return torch.as_tensor(t, dtype=torch.float32).cpu() * size


# ---- Zero-filled whole-pixel shift: out[..., j, i] = x[..., j - dy, i - dx] ------------------------
def _shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    H, W = x.shape[-2:]
    out = torch.zeros_like(x)
    if abs(dx) < W and abs(dy) < H:
        out[..., max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = x[
            ..., max(-dy, 0) : H + min(-dy, 0), max(-dx, 0) : W + min(-dx, 0)
        ]
    return out


def _plane(x: torch.Tensor, rows: tuple, cols: tuple) -> torch.Tensor:
    """A [1, 1, H, W] mask of x's size that is 1 on rows[0]:rows[1] x cols[0]:cols[1]."""
    m = torch.zeros([1, 1, *x.shape[-2:]], dtype=x.dtype, device=x.device)
    m[..., rows[0] : max(rows[1], rows[0]), cols[0] : max(cols[1], cols[0])] = 1
    return m


# ---- T_x of appendix E.1: translation by whole pixels ----------------------------------------------
def apply_integer_translation(x: torch.Tensor, tx, ty):
    """Moves x [N, C, H, W] by round(t * size) pixels, zero fill; the mask marks the filled part."""
    _, _, H, W = x.shape
    ix = int(_pixels(tx, W).round())
    iy = int(_pixels(ty, H).round())
    mask = _shift(torch.ones([1, 1, H, W], dtype=x.dtype, device=x.device), ix, iy)
    return _shift(x, ix, iy), mask.expand_as(x)


# ---- T_x of appendix E.2: sub-pixel translation by a separable Lanczos-windowed sinc ----------------
def _lanczos_taps(frac: torch.Tensor, a: int) -> torch.Tensor:
    """Weights of input offsets k = -(a-1)..a for a shift by frac in [0, 1), normalised to sum 1."""
    u = torch.arange(-(a - 1), a + 1, dtype=torch.float32) - frac
    taps = sinc(u) * lanczos_window(u, a)
    return taps / taps.sum()


def apply_fractional_translation(x: torch.Tensor, tx, ty, a: int = 3):
    """Moves x [N, C, H, W] by t * size pixels with a Lanczos (a) kernel; the mask excludes the border
    where the kernel would read zero fill."""
    _, _, H, W = x.shape
    tx, ty = _pixels(tx, W), _pixels(ty, H)
    ix, iy = int(tx.floor()), int(ty.floor())
    wx, wy = _lanczos_taps(tx - ix, a), _lanczos_taps(ty - iy, a)
    offsets = range(-(a - 1), a + 1)
    # Output pixel j reads input pixel j - i - k with weight w[k] (i the whole-pixel part), per axis.
    y = sum(float(w) * _shift(x, ix + k, 0) for w, k in zip(wx, offsets))
    y = sum(float(w) * _shift(y, 0, iy + k) for w, k in zip(wy, offsets))
    mask = _plane(x, (max(iy + a, 0), H + min(iy - a + 1, 0)), (max(ix + a, 0), W + min(ix - a + 1, 0)))
    return y, mask.expand_as(x)


# ---- Band-limited affine resampling (appendix E.3): upsample 4x with the oriented filter, then -----
# ---- sample bilinearly at the transformed positions ---------------------------------------------
def _sampling_theta(mat: torch.Tensor, H: int, W: int, up: int, pad: int) -> torch.Tensor:
    """affine_grid's theta: output pixel p (image units) reads inv(mat) p of the padded upsampled image."""
    theta = torch.linalg.inv(mat)
    theta[:2, 2] *= 2  # image units -> normalised units ([-1, 1] spans the image)
    # upsample2d puts input pixel centres on upsampled samples, i.e. sample j sits at j / up, whereas
    # grid_sample reads sample j at (j + 0.5) / up: shift by half an upsampled pixel.
    theta[0, 2] += 1 / up / W
    theta[1, 2] += 1 / up / H
    # The padding makes the upsampled image wider than the image: rescale to its normalised units.
    theta[0, :] *= W / (W + pad / up * 2)
    theta[1, :] *= H / (H + pad / up * 2)
    return theta[:2, :3].unsqueeze(0)


def apply_affine_transformation(x: torch.Tensor, mat, a: int = 3, up: int = 4):
    """Content at q appears at mat q (image units); band-limited for both the input and output grids."""
    N, C, H, W = x.shape
    mat = torch.as_tensor(mat).to(dtype=torch.float32, device=x.device)
    f = affine_bandlimit_filter(mat, a=a, amax=2 * a, up=up)
    pad = f.shape[0] // 2
    # [N, C, up*H + 2 pad, up*W + 2 pad]. The fast path on every device: on a few channels it runs all
    # up^2 phases of the 47x47 filter as one conv, ~8x faster than the generic op on the CPU.
    upsampled = upsample2d(x, f, up, padding=pad, impl="fast")
    grid = F.affine_grid(_sampling_theta(mat, H, W, up, pad), [1, 1, H, W], align_corners=False)
    y = F.grid_sample(upsampled, grid.expand(N, -1, -1, -1), mode="bilinear", padding_mode="zeros", align_corners=False)
    # Upsampled samples within 2 pad + 1 of the border saw zero fill.
    valid = torch.zeros([1, 1, *upsampled.shape[-2:]], dtype=x.dtype, device=x.device)
    c = pad * 2 + 1
    valid[..., c:-c, c:-c] = 1
    mask = F.grid_sample(valid, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return y, mask.expand_as(y)


def apply_fractional_rotation(x: torch.Tensor, angle, a: int = 3):
    """R_alpha of appendix E.3: rotates x [N, C, H, W] by angle (radians, counter-clockwise)."""
    return apply_affine_transformation(x, rotation_matrix(angle).to(x.device), a=a)


def apply_fractional_pseudo_rotation(x: torch.Tensor, angle, a: int = 3):
    """R*_alpha of appendix E.3: the band limit a rotation by angle would impose, without rotating."""
    f = affine_bandlimit_filter(rotation_matrix(-torch.as_tensor(angle, dtype=torch.float32)).to(x.device),
                                a=a, amax=2 * a, up=1)
    c = f.shape[0] // 2
    _, _, H, W = x.shape
    mask = _plane(x, (c, H - c), (c, W - c))
    return filter2d(x, f), mask.expand_as(x)


# ---- The app's untransform view ---------------------------------------------------------------------
def untransform(img: torch.Tensor, translate=(0.0, 0.0), rotate_deg: float = 0.0):
    """Undoes the input transform M(translate, rotate_deg) that produced img [N, C, H, W] -> (image, mask).

    For an equivariant generator the result stands still while the transform changes. A pure
    translation goes through the Lanczos path (exact for whole pixels); with a rotation the inverse
    affine map goes through the band-limited path.
    """
    tx, ty = (float(v) for v in translate)
    if rotate_deg == 0:
        return apply_fractional_translation(img, -tx, -ty)
    M = transform_matrix((tx, ty), rotate_deg)
    return apply_affine_transformation(img, torch.from_numpy(np.linalg.inv(M)).float())


# ---- Panels of different resolutions in one tile ----------------------------------------------------
def resize_panels(img: torch.Tensor, tile: int) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, tile, tile], antialiased (generators of different resolutions share a tile)."""
    if img.shape[-1] == tile and img.shape[-2] == tile:
        return img
    return torch.nn.functional.interpolate(img, size=(tile, tile), mode="bicubic", antialias=True, align_corners=False)
