"""3x3 'same' convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016), on the CPU.

oneDNN's direct 3x3 convolution already runs near the cores' peak, so at StyleGAN2's wide layers
the only way to go faster is fewer multiplications. F(2x2, 3x3) computes each 2x2 output tile from
a 4x4 input tile with 16 products per channel pair instead of 36: the convolution becomes 16
independent channel-mixing products (1x1 convolutions, which oneDNN also runs near peak) between
cheap additions-only transforms of the input and output. The transform matrices hold only 0, ±1
and ±1/2, so float32 rounding stays at the level of the direct convolution's.

Worth it only where the channel products dominate: wide layers on small-to-medium images. At
128 channels and 256² the transforms (4x the input's size) cost more than they save.
"""
import torch
import torch.nn.functional as F

# Filter transform G (4x3) of F(2x2, 3x3) for correlation, as in Lavin & Gray's paper.
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))
# Where it pays on two cores (measured against oneDNN's direct conv, channels-last, float32):
# 512 ch at 64² 1.3x, 256 ch at 128² 1.15x; 512 ch at 16² and 128 ch at 256² are slower.
MIN_CHANNELS = 256
MIN_PIXELS = 32 * 32
MAX_INPUT_VALUES = 2**22


def winograd_pays(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """True for the float32 CPU 3x3 convs of shapes where F(2x2, 3x3) beats the direct conv."""
    n, c_in, h, w = x.shape
    return (x.device.type == "cpu" and x.dtype == torch.float32 and tuple(weight.shape[2:]) == (3, 3)
            and min(c_in, weight.shape[0]) >= MIN_CHANNELS and h * w >= MIN_PIXELS
            and n * c_in * h * w <= MAX_INPUT_VALUES)


def transform_filter(weight: torch.Tensor) -> list[torch.Tensor]:
    """[C_out, C_in, 3, 3] correlation taps -> the 16 channel-mixing matrices G g G^T, as 1x1 conv weights."""
    c_out, c_in = weight.shape[:2]
    g = torch.tensor(_G, dtype=weight.dtype, device=weight.device)
    u = torch.matmul(torch.matmul(g, weight), g.t())  # [C_out, C_in, 4, 4]
    u = u.permute(2, 3, 0, 1).reshape(16, c_out, c_in, 1, 1)
    return [u[k].contiguous(memory_format=torch.channels_last) for k in range(16)]


def conv3x3_winograd(x: torch.Tensor,            # [N, C_in, H, W]
                     filters: list[torch.Tensor],  # transform_filter(weight)
                     ) -> torch.Tensor:           # [N, C_out, H, W], channels-last
    """F.conv2d(x, weight, padding=1) (correlation, zero padding 1) through the Winograd domain."""
    n, c, h, w = x.shape
    th, tw = (h + 1) // 2, (w + 1) // 2  # 2x2 output tiles
    # Zero-padded input, [N, H', W', C] (channels-last memory); tile (i, j) reads rows/cols 2i..2i+3.
    padded = x.new_zeros([n, 2 * th + 2, 2 * tw + 2, c])
    padded[:, 1: h + 1, 1: w + 1] = x.permute(0, 2, 3, 1)
    # Input transform B^T d B, rows then columns; B^T's rows are d0-d2, d1+d2, d2-d1, d1-d3 and,
    # with even/odd samples e/o, tile i's d0..d3 are e[i], o[i], e[i+1], o[i+1].
    rows = _transform_axis(padded[:, 0::2], padded[:, 1::2], th, axis=1)
    tiles = [t for r in rows for t in _transform_axis(r[:, :, 0::2], r[:, :, 1::2], tw, axis=2)]
    # 16 channel-mixing products: 1x1 convs on [N, C, th, tw] channels-last views.
    m = [F.conv2d(t.permute(0, 3, 1, 2), u) for t, u in zip(tiles, filters)]
    # Output transform A^T m A with A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], rows then columns.
    out = torch.empty([n, filters[0].shape[0], 2 * th, 2 * tw], dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    by_column = [_inverse_axis(m[b], m[4 + b], m[8 + b], m[12 + b]) for b in range(4)]  # [b][p]
    for p in range(2):
        for q, value in enumerate(_inverse_axis(*(column[p] for column in by_column))):
            out[:, :, p::2, q::2] = value
    return out if (2 * th, 2 * tw) == (h, w) else out[:, :, :h, :w]


def _transform_axis(even, odd, tiles, axis):
    """B^T applied along one axis: the four transformed planes of `tiles` tiles."""
    def part(t, start):
        return t.narrow(axis, start, tiles)

    e0, e1, o0, o1 = part(even, 0), part(even, 1), part(odd, 0), part(odd, 1)
    return [e0 - e1, o0 + e1, e1 - o0, o0 - o1]


def _inverse_axis(m0, m1, m2, m3):
    """A^T applied along one axis: the two output planes (m0 + m1 + m2, m1 - m2 - m3)."""
    return (m0 + m1).add_(m2), (m1 - m2).sub_(m3)
