"""Real-data feature statistics cached on disk, so the second model of a comparison costs only its samples.

The key covers everything the statistics depend on: the data's content (names and bytes), the
Inception weights' bytes, the pipeline, how many images were used and any resize. Entries are
written atomically; an unreadable entry is recomputed, never trusted.
"""
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from eqviz.atomic_io import atomic_output
from eqviz.cache import cache_folder, file_digest
from eqviz.metrics.fid.statistics import FeatureStatistics

CACHE_VERSION = 1


def cache_dir() -> Path:
    """The cache's `fid` folder ($EQVIZ_CACHE/fid, else ~/.cache/eqviz/fid)."""
    return cache_folder("fid")


def statistics_key(data_digest: str, weights_digest: str, pipeline: str, count: int, resize_to, with_features: bool) -> str:
    text = json.dumps([CACHE_VERSION, data_digest, weights_digest, pipeline, count, resize_to, with_features])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load_statistics(key: str, dim: int):
    """The cached FeatureStatistics for `key`, or None when absent or unreadable."""
    path = cache_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            stats = FeatureStatistics(dim)
            stats.count = torch.from_numpy(data["count"])
            stats.sum = torch.from_numpy(data["sum"])
            stats.sum_outer = torch.from_numpy(data["sum_outer"])
            if "features" in data.files:
                stats.features = torch.from_numpy(data["features"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # a damaged entry: recomputed
        return None
    if stats.sum.shape != (dim,) or stats.sum_outer.shape != (dim, dim):
        return None
    return stats


def save_statistics(key: str, stats: FeatureStatistics) -> Path:
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"count": stats.count.cpu().numpy(), "sum": stats.sum.cpu().numpy(), "sum_outer": stats.sum_outer.cpu().numpy()}
    if stats.features is not None:
        arrays["features"] = stats.features.numpy()
    path = folder / f"{key}.npz"
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path
