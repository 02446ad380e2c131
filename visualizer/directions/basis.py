"""A set of editing directions in W, as SeFa, GANSpace or an imported file gives them."""
import dataclasses

import numpy as np

from eqviz.directions.identity import ModelIdentity
from eqviz.errors import EqvizError

METHODS = ("sefa", "ganspace", "imported")


@dataclasses.dataclass(frozen=True, eq=False)
class Directions:
    directions: np.ndarray          # [K, w_dim] float32, unit rows
    values: np.ndarray              # [K] float64: SeFa eigenvalues, GANSpace variances, imported row norms
    scales: np.ndarray              # [K] float64: sigma of W along each direction = W distance of alpha 1
    method: str                     # 'sefa', 'ganspace' or 'imported'
    layers: tuple[int, int]         # [first, last) ws the directions were computed on and edit by default
    model: ModelIdentity            # the generator they belong to (their scales were measured on it)

    def __post_init__(self):
        k = self.directions.shape[0] if self.directions.ndim == 2 else -1
        if k < 1 or self.values.shape != (k,) or self.scales.shape != (k,):
            raise EqvizError(f"directions {list(self.directions.shape)}, values {list(self.values.shape)} and "
                             f"scales {list(self.scales.shape)} do not describe K directions of one width")
        if self.method not in METHODS:
            raise EqvizError(f"unknown direction method {self.method!r}; expected one of {', '.join(METHODS)}")
        if not (np.isfinite(self.directions).all() and np.isfinite(self.scales).all() and (self.scales > 0).all()):
            raise EqvizError("directions and their scales must be finite, with positive scales")

    def __len__(self) -> int:
        return self.directions.shape[0]

    def label(self, k: int) -> str:
        """'sefa 3', 'ganspace 0', ...: how sheets, the app and sessions name direction k."""
        return f"{self.method} {k}"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, each with its largest-magnitude entry positive (eigenvectors have no
    sign of their own; this makes files reproducible from one machine to the next)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not (norms > 0).all():
        raise EqvizError("a direction has length zero; every direction needs a nonzero vector")
    vectors = vectors / norms
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])
    return vectors * signs[:, None]
