"""3x3 zero-padded convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray 2016), on the CPU.

oneDNN's direct 3x3 convolution already runs near the cores' peak, so at StyleGAN2's wide layers
the only way to go faster is fewer multiplications. F(4x4, 3x3) computes each 4x4 output tile from
a 6x6 input tile with 36 products per channel pair instead of 144: the convolution becomes 36
independent channel-mixing matrix products (one batched matmul) between cheap transforms of the
input and output, which are themselves small matmuls (6x6 and 4x6 matrices applied along each axis).

The transforms come from Toom-Cook interpolation at the points 0, 1, -1, 1/2, -2 and infinity.
Lavin's points (0, ±1, ±2) lose up to ~1e-5 of the output's range in float32; mixing 1/2 and -2
keeps the error at ~3e-6, the level of the direct convolution's own rounding at 512 channels
(Barabasz et al. 2020, "Error analysis and improving the accuracy of Winograd convolution").

The work runs in bands of tile rows: each band's transformed tiles (2.25x its input) stay in the
cache and in reused heap blocks; whole-image temporaries of 30+ MiB were fresh pages every call.
"""
from fractions import Fraction

import torch

TILE = 4  # output tile side
TAPS = 3  # kernel side
SPAN = TILE + TAPS - 1  # input tile side
POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(1, 2), Fraction(-2))  # and infinity
# Where it pays (measured against oneDNN's direct conv, channels-last, float32, on 2 cores): 512 ch
# at 16²-64² and 256 ch at 128², 1.5-2.5x; 128 ch at 256² on one thread (1.3-1.7x) but not on two,
# where the direct conv scales better than the transforms' many small ops; 512 ch at 8² ties.
# StyleGAN3's 'full' convs (padding 2, output H+2) pay from 128 channels on two threads too: 1.2-1.7x
# at 128-181 ch and 276², 1.7-2.9x at 256-512 ch, 36²-276² (oneDNN's direct conv is slower at padding 2).
MIN_CHANNELS = 256
MIN_CHANNELS_ONE_THREAD = 128
MIN_CHANNELS_FULL = 128
MIN_PIXELS = 16 * 16
BAND_VALUES = 2**20  # transformed input values per band (4 MiB): a band's temporaries stay in the cache
BAND_TILES_PER_CHANNEL = 4  # and at least this many tiles per output channel


# ---- Toom-Cook matrices for F(m, r): y = A^T [(G g) * (B^T d)], g correlated with d ----------------
def _polynomial(roots: list) -> list:
    """Coefficients (ascending powers) of prod (t - root)."""
    coefficients = [Fraction(1)]
    for root in roots:
        shifted = [Fraction(0)] + coefficients
        coefficients = [a - root * b for a, b in zip(shifted, coefficients + [Fraction(0)])]
    return coefficients


def toom_cook_matrices(points: tuple, m: int, r: int) -> tuple:
    """(A^T [m, n], G [n, r], B^T [n, n]) as exact fractions, n = m + r - 1 = len(points) + 1 (the
    last point is infinity): A^T evaluates the output polynomial, G the kernel divided by the
    Lagrange denominators, B^T holds the Lagrange numerators (and the full product for infinity)."""
    n = m + r - 1
    if len(points) != n - 1:
        raise ValueError(f"F({m}, {r}) needs {n - 1} finite points, got {len(points)}")
    a_t = [[p ** i for p in points] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = []
    for j, p in enumerate(points):
        denominator = Fraction(1)
        for q in points[:j] + points[j + 1:]:
            denominator *= p - q
        g.append([p ** k / denominator for k in range(r)])
    g.append([Fraction(int(k == r - 1)) for k in range(r)])
    b_t = [_polynomial(list(points[:j] + points[j + 1:])) + [Fraction(0)] for j in range(n - 1)]
    b_t.append(_polynomial(list(points)))
    return a_t, g, b_t


_A_T, _G, _B_T = toom_cook_matrices(POINTS, TILE, TAPS)
BIAS_POINT = POINTS.index(1) * (SPAN + 1)  # the 2-D point (1, 1): A^T's column for 1 is all ones


def _matrix(rows, dtype=torch.float32, device=None) -> torch.Tensor:
    return torch.tensor([[float(v) for v in row] for row in rows], dtype=dtype, device=device)


def winograd_pays(x: torch.Tensor, weight: torch.Tensor, padding: int = 1) -> bool:
    """True for the float32 CPU 3x3 convs (zero padding 0-2) of shapes where F(4x4, 3x3) beats the direct conv."""
    n, c_in, h, w = x.shape
    min_channels = MIN_CHANNELS if torch.get_num_threads() > 1 else MIN_CHANNELS_ONE_THREAD
    if padding == TAPS - 1:
        min_channels = MIN_CHANNELS_FULL
    elif not 0 <= padding < TAPS - 1:
        return False
    return (x.device.type == "cpu" and x.dtype == torch.float32 and tuple(weight.shape[2:]) == (TAPS, TAPS)
            and min(c_in, weight.shape[0]) >= min_channels and h * w >= MIN_PIXELS)


def transform_filter(weight: torch.Tensor) -> torch.Tensor:
    """[C_out, C_in, 3, 3] correlation taps -> [36, C_in, C_out]: G g G^T per channel pair, the 36
    matrices the transformed input tiles are multiplied by (computed in float64, then rounded once)."""
    c_out, c_in = weight.shape[:2]
    g = _matrix(_G, torch.float64, weight.device)
    u = g @ weight.double() @ g.t()  # [C_out, C_in, 6, 6]
    return u.permute(2, 3, 1, 0).reshape(SPAN * SPAN, c_in, c_out).to(weight.dtype).contiguous()


def conv3x3_winograd(x: torch.Tensor,                 # [N, C_in, H, W]
                     filters: torch.Tensor,           # transform_filter(weight): [36, C_in, C_out]
                     in_scale: torch.Tensor | None = None,   # [N, C_in]: x's channels scaled first
                     out_scale: torch.Tensor | None = None,  # [N, C_out] or [C_out]: output channels scaled
                     bias: torch.Tensor | None = None,       # [C_out]: added after the scale
                     noise: torch.Tensor | None = None,      # [H', W'] or [N, 1, H', W']: added last
                     padding: int = 1,                # zeros on each side: 1 'same' (StyleGAN2), 2 'full' (StyleGAN3)
                     ) -> torch.Tensor:               # [N, C_out, H', W'] = H + 2p - 2, channels-last
    """F.conv2d(x * in_scale, weight, padding=padding) * out_scale + bias + noise, through the Winograd domain.

    The scales, the bias and the noise ride on work done anyway, so a modulated conv makes no pass
    of its own over the feature maps: the input scale on the copy into the zero-padded band, the
    bias on the product of the transform's point 1 (which A^T spreads to all 16 outputs of a tile
    with weight 1), the output scale and the noise on the scatter into the output.
    """
    if not 0 <= padding <= TAPS - 1:
        raise ValueError(f"padding must be 0, 1 or 2, got {padding}")
    n, c_in, h_in, w_in = x.shape
    h, w = h_in + 2 * padding - (TAPS - 1), w_in + 2 * padding - (TAPS - 1)  # the output's size
    c_out = filters.shape[2]
    th, tw = -(-h // TILE), -(-w // TILE)
    b_t, a_t = _matrix(_B_T, x.dtype, x.device), _matrix(_A_T, x.dtype, x.device)
    out = torch.empty([n, c_out, th * TILE, tw * TILE], dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    pixels_in, pixels_out = x.permute(0, 2, 3, 1), out.permute(0, 2, 3, 1)  # [N, H, W, C] views
    # Each band multiplies its tiles by all 36 filter matrices: fewer tiles than channels would
    # read the filters more often than the tiles.
    band_tiles = max(BAND_VALUES // (SPAN * SPAN * c_in), BAND_TILES_PER_CHANNEL * c_out)
    band_rows = max(1, min(th, band_tiles // tw))
    width = tw * TILE + TAPS - 1
    fold_bias = bias is not None and (out_scale is None or bool((out_scale != 0).all()))
    noise_maps = None  # [N or 1, H, W] when the scatter can add the noise (no partial tiles)
    if noise is not None and (th * TILE, tw * TILE) == (h, w) and (noise.dim() == 2 or noise.shape[1] == 1):
        noise_maps = noise.expand(h, w)[None] if noise.dim() == 2 else noise[:, 0]
    for s in range(n):
        styles = in_scale[s] if in_scale is not None else None
        scale = out_scale if out_scale is None or out_scale.dim() == 1 else out_scale[s]
        point_bias = None
        if fold_bias:
            point_bias = bias if scale is None else bias / scale  # the scatter scales it back
        noise_map = noise_maps[s if noise_maps.shape[0] > 1 else 0] if noise_maps is not None else None
        for i0 in range(0, th, band_rows):
            rows = min(band_rows, th - i0)
            # Rows TILE*i0 - padding ... of x (zeros outside it), columns -padding ..., as
            # [rows*4 + 2, width, C_in]; width >= w_in + padding, so every column of x fits.
            top = TILE * i0 - padding
            band = x.new_zeros([rows * TILE + TAPS - 1, width, c_in])
            y0, y1 = max(top, 0), min(top + rows * TILE + TAPS - 1, h_in)
            inside = band[y0 - top: y1 - top, padding: w_in + padding]
            if styles is None:
                inside.copy_(pixels_in[s, y0:y1])
            else:
                torch.mul(pixels_in[s, y0:y1], styles, out=inside)
            st = band.stride()
            tiles = band.as_strided([SPAN, SPAN, rows, tw, c_in], [st[0], st[1], TILE * st[0], TILE * st[1], st[2]])
            # B^T d B: the rows, then the columns, each a 6x6 matmul over all tiles and channels.
            d = torch.mm(b_t, tiles.contiguous().view(SPAN, -1)).view(SPAN, SPAN, -1)
            v = torch.matmul(b_t, d).view(SPAN * SPAN, rows * tw, c_in)
            m = x.new_empty([SPAN * SPAN, rows * tw, c_out])  # the channel mixing, one product per point
            for k in range(SPAN * SPAN):  # one mm each: MKL's bmm ran these shapes at 60-65% of the speed
                if k == BIAS_POINT and point_bias is not None:
                    torch.addmm(point_bias, v[k], filters[k], out=m[k])
                else:
                    torch.mm(v[k], filters[k], out=m[k])
            # A^T m A, the same way.
            y = torch.mm(a_t, m.view(SPAN, -1)).view(TILE, SPAN, -1)
            y = torch.matmul(a_t, y).view(TILE, TILE, rows, tw, c_out)
            y = y.permute(2, 0, 3, 1, 4)  # [tile row, row in tile, tile col, col in tile, C_out]
            dst = pixels_out[s, TILE * i0: TILE * (i0 + rows)].view(rows, TILE, tw, TILE, c_out)
            added = None
            if noise_map is not None:
                added = noise_map[TILE * i0: TILE * (i0 + rows)].reshape(rows, TILE, tw, TILE, 1)
            if scale is not None:
                torch.addcmul(added, y, scale, out=dst) if added is not None else torch.mul(y, scale, out=dst)
            elif added is not None:
                torch.add(y, added, out=dst)
            else:
                dst.copy_(y)
    if (th * TILE, tw * TILE) != (h, w):
        out = out[:, :, :h, :w]
    if bias is not None and not fold_bias:
        out.add_(bias.reshape(1, -1, 1, 1))
    return out.add_(noise) if noise is not None and noise_maps is None else out
