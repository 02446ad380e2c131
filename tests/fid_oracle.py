"""The random Inception weights behind golden/fid_oracles.npz, rebuilt from the recipe in its JSON.

Every tensor but the BatchNorm statistics is drawn from numpy RandomState(crc32(key)) with the
distribution the JSON names; the calibrated BatchNorm statistics are read from the npz.
"""
import json
import re
import zlib

import numpy as np
import pytest
import torch

UNIFORM_FAN_IN = re.compile(r"uniform\(-1/sqrt\((\d+)\), 1/sqrt\((\d+)\)\)")
UNIFORM = re.compile(r"uniform\(([-\d.]+), ([-\d.]+)\)")
NORMAL = re.compile(r"normal\(([-\d.]+), ([-\d.]+)\)")


def oracle_state_dict(reference_dir) -> dict:
    golden = reference_dir / "golden"
    meta = json.loads((golden / "fid_oracles.json").read_text())
    stored = np.load(golden / "fid_oracles.npz")
    state = {}
    for entry in meta["keys"]:
        key, shape, recipe = entry["key"], tuple(entry["shape"]), entry["value"]
        if recipe.startswith("calibrated"):
            state[key] = torch.from_numpy(np.array(stored[f"bn/{key}"]))
            continue
        rng = np.random.RandomState(zlib.crc32(key.encode()))
        if m := UNIFORM_FAN_IN.fullmatch(recipe):
            bound = 1 / np.sqrt(float(m.group(1)))
            value = rng.uniform(-bound, bound, shape)
        elif m := UNIFORM.fullmatch(recipe):
            value = rng.uniform(float(m.group(1)), float(m.group(2)), shape)
        elif m := NORMAL.fullmatch(recipe):
            value = rng.normal(float(m.group(1)), float(m.group(2)), shape)
        else:
            raise ValueError(f"unknown recipe {recipe!r} for {key}")
        state[key] = torch.from_numpy(value.astype(np.float32))
    return state


def write_oracle_weights(reference_dir, path) -> None:
    torch.save(oracle_state_dict(reference_dir), path)


@pytest.fixture(scope="session")
def oracle_inception(reference_dir, tmp_path_factory):
    """Path of the oracle's Inception weights as a .pth state dict (what users pass as --inception)."""
    path = tmp_path_factory.mktemp("inception") / "oracle_inception.pth"
    write_oracle_weights(reference_dir, path)
    return path


@pytest.fixture(scope="session")
def oracle_npz(reference_dir):
    return np.load(reference_dir / "golden" / "fid_oracles.npz")


def folder_features(inception, path) -> np.ndarray:
    """[N, 2048] float64 Inception features of a folder's PNGs, in name order."""
    from PIL import Image

    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(path.glob("*.png"))])
    with torch.no_grad():
        return inception(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()).double().numpy()


def textbook_fid(fa: np.ndarray, fb: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr S_a + tr S_b - 2 tr (S_a S_b)^½, with tr (S_a S_b)^½ = the nuclear norm of
    A B^T for the centred, scaled features A, B (S = A^T A): exact for the few-sample, rank-deficient
    covariances a test can afford, where a 2048-wide matrix square root is not."""
    a = (fa - fa.mean(0)) / np.sqrt(len(fa) - 1)
    b = (fb - fb.mean(0)) / np.sqrt(len(fb) - 1)
    cross = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(((fa.mean(0) - fb.mean(0)) ** 2).sum() + (a * a).sum() + (b * b).sum() - 2 * cross)


def textbook_kid(fa: np.ndarray, fb: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3 over the whole sets."""
    d, m, n = fa.shape[1], len(fa), len(fb)
    kaa, kbb, kab = ((fa @ fa.T / d + 1) ** 3, (fb @ fb.T / d + 1) ** 3, (fa @ fb.T / d + 1) ** 3)
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
                 - 2 * kab.mean())
