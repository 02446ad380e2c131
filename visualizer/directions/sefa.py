"""SeFa (Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs", CVPR 2021).

A modulated convolution's style is s = A w + b; the directions of W that change the styles most
are the top eigenvectors of A Aᵀ. With several layers, each layer's affine weight is transposed to
[w_dim, units], the blocks are concatenated along units, and every unit's column is scaled to unit
length (as genforce/sefa's `factorize_weight` does), so no layer dominates by its raw scale. The
equalized-lr weight gain is one scalar per layer and vanishes in that normalisation.

Edit strength: alpha 1 moves w by one standard deviation of W along the direction, measured over
`scale_samples` mapped samples, so alpha means the same for SeFa and GANSpace directions.
"""
import numpy as np

from eqviz.directions.basis import Directions, unit_rows
from eqviz.directions.identity import model_identity
from eqviz.directions.layers import check_layers, style_layers
from eqviz.directions.w_statistics import sigmas_along, w_moments
from eqviz.errors import InvalidArgument

SCALE_SAMPLES = 4096  # mapped samples that measure sigma of W along SeFa directions (about 1% error)


def stacked_style_weights(G, layers) -> np.ndarray:
    """[w_dim, total units] float64: the chosen layers' affine weights, transposed and concatenated,
    each column scaled to unit length (columns of length zero, dead units, are dropped)."""
    first, last = layers
    chosen = [layer for layer in style_layers(G) if first <= layer.ws_index < last]
    if not chosen:
        raise InvalidArgument(f"no modulated convolution reads ws {first} to {last - 1}; choose a range that "
                         f"includes a synthesis layer's ws (this model's default is all of them)", "layers")
    weight = np.concatenate([layer.affine.weight.detach().cpu().double().numpy().T for layer in chosen], axis=1)
    norms = np.linalg.norm(weight, axis=0)
    return weight[:, norms > 0] / norms[norms > 0]


def sefa(G, num: int = 20, layers: tuple[int, int] | None = None, scale_samples: int = SCALE_SAMPLES,
         seed: int = 0) -> Directions:
    """The top `num` SeFa directions of the style affines reading ws in `layers` ([first, last),
    default: every synthesis layer, see eqviz.directions.layers), ordered by eigenvalue."""
    layers = check_layers(G, layers)
    if not 1 <= num <= G.w_dim:
        raise InvalidArgument(f"number of directions must be between 1 and w_dim = {G.w_dim}, got {num}", "num")
    weight = stacked_style_weights(G, layers)
    values, vectors = np.linalg.eigh(weight @ weight.T)  # ascending
    order = np.argsort(values)[::-1][:num]
    directions = unit_rows(vectors[:, order].T)
    covariance = w_moments(G, scale_samples, seed).covariance
    return Directions(directions=directions.astype(np.float32), values=values[order],
                      scales=sigmas_along(covariance, directions), method="sefa", layers=layers,
                      model=model_identity(G))
