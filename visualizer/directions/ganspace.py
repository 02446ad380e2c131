"""GANSpace (Härkönen et al., "GANSpace: Discovering Interpretable GAN Controls", NeurIPS 2020).

Principal components of W = mapping(z) over many seeded samples, with their standard deviations;
an edit adds alpha sigma_k d_k to a ws range, so alpha counts standard deviations of W along d_k.
The covariance is streamed (eqviz.directions.w_statistics), so N = 10^6 needs one batch of memory.
"""
from typing import Callable

import numpy as np

from eqviz.directions.basis import Directions, unit_rows
from eqviz.directions.identity import model_identity
from eqviz.directions.layers import check_layers
from eqviz.directions.w_statistics import SAMPLE_BATCH, w_moments
from eqviz.errors import EqvizError, InvalidArgument

NUM_SAMPLES = 100_000


def principal_components(covariance: np.ndarray, num: int) -> tuple[np.ndarray, np.ndarray]:
    """(components [num, w_dim] unit rows, variances [num]) in decreasing order of variance."""
    variances, vectors = np.linalg.eigh(covariance)  # ascending
    order = np.argsort(variances)[::-1][:num]
    return unit_rows(vectors[:, order].T), np.maximum(variances[order], 0.0)


def ganspace(G, num: int = 20, layers: tuple[int, int] | None = None, num_samples: int = NUM_SAMPLES,
             seed: int = 0, batch: int = SAMPLE_BATCH,
             progress: Callable[[int, int], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> Directions:
    """The top `num` principal components of W over `num_samples` samples drawn from `seed`.

    layers: the [first, last) ws range edits apply to by default (GANSpace edits a layer range; the
    components themselves are the same for every range). progress(done, total) after each batch;
    `cancel()` is polled between batches and stops with eqviz.errors.Cancelled.
    """
    layers = check_layers(G, layers)
    if not 1 <= num <= G.w_dim:
        raise InvalidArgument(f"number of directions must be between 1 and w_dim = {G.w_dim}, got {num}", "num")
    if num_samples <= num:
        raise InvalidArgument(f"GANSpace needs more samples ({num_samples}) than components ({num})", "num_samples")
    moments = w_moments(G, num_samples, seed, batch, progress=progress, cancel=cancel)
    components, variances = principal_components(moments.covariance, num)
    if not (variances > 0).all():
        raise EqvizError(f"W has only {int((variances > 0).sum())} directions of nonzero variance; ask for fewer components")
    return Directions(directions=components.astype(np.float32), values=variances, scales=np.sqrt(variances),
                      method="ganspace", layers=layers, model=model_identity(G))
