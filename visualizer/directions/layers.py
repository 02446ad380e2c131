"""Which style affine reads which ws index, and the ws ranges directions are computed on and edit.

StyleGAN2: every block's modulated convolutions (`b4.conv1`, `b8.conv0`, `b8.conv1`, ...) read one
ws each, in order; a block's ToRGB reads the same ws as the next block's first convolution, and the
last ToRGB reads the last ws. StyleGAN3: ws[0] drives the input layer's affine (the learned rotation
and translation of the Fourier features), ws[i + 1] the layer `L<i>_...`.
"""
import dataclasses

import torch

from eqviz.errors import InvalidArgument


@dataclasses.dataclass(frozen=True)
class StyleLayer:
    name: str                  # module path under G.synthesis, e.g. 'b8.conv0' or 'L3_36_64'
    ws_index: int              # the ws this layer's affine reads
    affine: torch.nn.Module    # its FullyConnectedLayer (weight [units, w_dim])


def is_stylegan3(G) -> bool:
    return str(G.kind).startswith("stylegan3")


def style_layers(G) -> list[StyleLayer]:
    """The synthesis layers whose styles SeFa factorises, with the ws index each reads.

    StyleGAN2's ToRGB affines are left out: they only weight the finished features into colours
    (no demodulation, three outputs), while the semantics SeFa looks for are decided by the first
    projection of each modulated convolution; genforce's SeFa takes the convolutions' styles only.
    StyleGAN3's input affine is left out too: it turns w into a rotation and translation of the
    input, not into styles.
    """
    synthesis = G.synthesis
    if is_stylegan3(G):
        return [StyleLayer(name, i + 1, getattr(synthesis, name).affine) for i, name in enumerate(synthesis.layer_names)]
    layers, w_idx = [], 0
    for res in synthesis.block_resolutions:
        block = getattr(synthesis, f"b{res}")
        convs = ["conv0", "conv1"] if hasattr(block, "conv0") else ["conv1"]
        for j, conv in enumerate(convs):
            layers.append(StyleLayer(f"b{res}.{conv}", w_idx + j, getattr(block, conv).affine))
        w_idx += block.num_conv
    return layers


def default_layers(G) -> tuple[int, int]:
    """[first, last) ws: every ws for StyleGAN2; all but the input layer's ws[0] for StyleGAN3, so
    that an edit never moves the picture the way the input transform does."""
    return (1, G.num_ws) if is_stylegan3(G) else (0, G.num_ws)


def check_layers(G, layers) -> tuple[int, int]:
    """`layers` as a validated (first, last) ws range of this generator; None means the default."""
    if layers is None:
        return default_layers(G)
    first, last = (int(v) for v in layers)
    if not 0 <= first < last <= G.num_ws:
        raise InvalidArgument(f"layer range [{first}, {last}) is not inside this model's ws 0..{G.num_ws - 1}; "
                         f"give first < last with both in 0..{G.num_ws}", "layers")
    return first, last


def parse_layer_range(text: str) -> tuple[int, int]:
    """'A-B' (both ws indices included, like seed ranges) or 'A' -> the range [A, B + 1)."""
    lo, sep, hi = text.strip().partition("-")
    try:
        first = int(lo)
        last = int(hi) if sep else first
    except ValueError:
        raise InvalidArgument(f"cannot read layer range '{text}'; write e.g. 0-7 (ws 0 to 7 included) or 4", "layers") from None
    if first < 0 or last < first:
        raise InvalidArgument(f"layer range '{text}' is empty or negative; write FIRST-LAST with FIRST <= LAST, e.g. 2-5", "layers")
    return first, last + 1


def format_layer_range(layers) -> str:
    """(first, last) -> 'first-(last-1)', the inverse of parse_layer_range."""
    return f"{layers[0]}-{layers[1] - 1}"
