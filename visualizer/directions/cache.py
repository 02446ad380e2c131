"""Directions kept on disk per model, so reopening a model shows its SeFa or GANSpace directions at once.

Entries live in the cache's `directions` folder (eqviz.cache), one file per model (by the sha256 of
its weights), method and, for GANSpace, sample count. An entry that no longer loads for the model
(damaged, or written by an older eqviz) is recomputed and replaced, never trusted.
"""
from pathlib import Path
from typing import Callable

from eqviz.cache import cache_folder
from eqviz.errors import EqvizError


def cache_path(weights_sha256: str, method: str, num_samples: int) -> Path:
    suffix = f"-{num_samples}" if method == "ganspace" else ""
    return cache_folder("directions") / f"{weights_sha256[:24]}-{method}{suffix}.npz"


def cached_or_computed(G, method: str, num: int, num_samples: int,
                       progress: Callable[[int, int], None] | None = None,
                       cancel: Callable[[], bool] | None = None):
    """(directions, whether they came from the cache): `num` SeFa or GANSpace directions of G."""
    from eqviz.directions.files import load_directions, save_directions
    from eqviz.directions.ganspace import ganspace
    from eqviz.directions.identity import weights_sha256
    from eqviz.directions.sefa import sefa

    path = cache_path(weights_sha256(G), method, num_samples)
    if path.is_file():
        try:
            return load_directions(path, G), True
        except EqvizError:
            pass  # a stale or damaged entry is recomputed and replaced below
    if method == "sefa":
        found = sefa(G, num=num)
    else:
        found = ganspace(G, num=num, num_samples=num_samples, cancel=cancel, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_directions(path, found)
    return found, False
