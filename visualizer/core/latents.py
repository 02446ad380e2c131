"""From seeds to W: NVIDIA's seed convention, fractional seed grids, interpolation, mixing, truncation.

Everything latent that the app, `eqviz render` and `eqviz video` do goes through `session_ws`, so a
seed shows the same picture everywhere, and the same picture as NVIDIA's tools.
"""
import dataclasses
import math
from pathlib import Path

import numpy as np
import torch

from eqviz.atomic_io import atomic_output
from eqviz.core.edits import apply_edits
from eqviz.errors import EqvizError
from eqviz.untrusted.arrays import load_npy, load_npz
from eqviz.untrusted.files import FileKind

MAX_W_VALUE = 1e4        # |entry| of a W file (mapped W is of order 1; truncation and edits stay far below)
MAX_W_BYTES = 256 << 20  # a projector video's every step: 1000 x 18 x 512 float32 is 37 MB
SEED_GRID_STEP = 100  # seed-grid row stride, as in NVIDIA's visualizer: grid point (i, j) is seed i + 100 j


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    """NVIDIA's convention: RandomState(seed).randn(1, z_dim), float64 (mapping casts to float32)."""
    return np.random.RandomState(int(seed) & 0xFFFFFFFF).randn(1, z_dim)


def class_label(G, class_idx: int | None, device="cpu") -> torch.Tensor:
    """One-hot label [1, c_dim]; [1, 0] for unconditional models."""
    c = torch.zeros([1, G.c_dim], device=device)
    if G.c_dim == 0:
        if class_idx is not None:
            raise EqvizError("this model is unconditional: leave the class unset")
        return c
    if class_idx is None:
        raise EqvizError(f"this model is conditional: choose a class between 0 and {G.c_dim - 1}")
    if not 0 <= class_idx < G.c_dim:
        raise EqvizError(f"class {class_idx} is out of range: this model has classes 0 to {G.c_dim - 1}")
    c[0, class_idx] = 1
    return c


def _mapping_input(G, seeds, class_idx, device):
    z = torch.from_numpy(np.concatenate([z_from_seed(s, G.z_dim) for s in seeds])).to(device)
    c = class_label(G, class_idx, device).repeat(len(seeds), 1)
    return z, c


@torch.no_grad()
def seed_ws(G, seed: int, psi: float = 1.0, cutoff: int | None = None, class_idx: int | None = None, device="cpu"):
    """ws [1, num_ws, w_dim] for one integer seed, exactly as NVIDIA's G.mapping computes them."""
    z, c = _mapping_input(G, [seed], class_idx, device)
    return G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)


def lerp(a, b, t: float):
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the last axis; keeps Gaussian latents at a typical norm."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    if bool((so.abs() < eps).any()):
        return lerp(a, b, t)
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


def truncate(G, ws: torch.Tensor, psi: float, cutoff: int | None) -> torch.Tensor:
    """w_avg + psi (w - w_avg) on the first `cutoff` ws, as torch.lerp like NVIDIA's mapping."""
    if psi == 1:
        return ws
    ws = ws.clone()
    ws[:, :cutoff] = G.mapping.w_avg.lerp(ws[:, :cutoff], psi)
    return ws


def grid_seeds(x: float, y: float) -> list[tuple[int, float]]:
    """The (seed, weight) pairs a fractional seed-grid position blends (bilinear, weights sum to 1)."""
    x0, y0 = math.floor(x), math.floor(y)
    pairs = []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        w = (1 - abs(x - (x0 + dx))) * (1 - abs(y - (y0 + dy)))
        if w > 0:
            pairs.append(((x0 + dx) + SEED_GRID_STEP * (y0 + dy), w))
    return pairs


def grid_z(x: float, y: float, z_dim: int) -> np.ndarray:
    """Z [1, z_dim] for a fractional seed-grid position, so slerp in Z starts where the grid says: the
    bilinear blend of the neighbouring seeds' Z, rescaled to their weighted mean norm (a plain blend
    of independent Gaussians is shorter than a typical Z). A whole position gives its seed's Z exactly."""
    pairs = grid_seeds(x, y)
    if len(pairs) == 1:
        return z_from_seed(pairs[0][0], z_dim)
    zs = [z_from_seed(seed, z_dim) for seed, _ in pairs]
    blend = sum(w * z for (_, w), z in zip(pairs, zs))
    norm = sum(w * float(np.linalg.norm(z)) for (_, w), z in zip(pairs, zs))
    return blend * (norm / max(float(np.linalg.norm(blend)), 1e-12))


W_FILE = FileKind("W file", MAX_W_BYTES, "pass a .npy, or an .npz with key 'w', as NVIDIA's projector or eqviz "
                  "project writes")


def load_w(path, G, device="cpu") -> torch.Tensor:
    """A W vector as NVIDIA's projector writes it (.npz key 'w', or .npy): [1, num_ws, w_dim]. Read
    through eqviz.untrusted.arrays: float data only, its declared size checked before reading."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        arrays = load_npz(path, W_FILE, MAX_W_BYTES)
        if "w" not in arrays:
            raise W_FILE.refuse(path, "has no array named 'w'")
        w = arrays["w"]
    else:
        w = load_npy(path, W_FILE)
    if w.dtype.kind != "f" or w.ndim not in (1, 2, 3) or w.size == 0:
        raise W_FILE.refuse(path, f"holds {w.dtype} of shape {list(w.shape)[:8]}; a W is float [w_dim], "
                                  "[num_ws, w_dim] or [n, num_ws, w_dim]")
    if not np.isfinite(w).all() or np.abs(w).max() > MAX_W_VALUE:
        raise W_FILE.refuse(path, f"holds NaN, infinite or values beyond +-{MAX_W_VALUE:g} (a W is of order 1)")
    w = torch.as_tensor(np.asarray(w, dtype=np.float32), device=device)
    if w.ndim == 3 and w.shape[0] > 1:
        w = w[-1:]  # projector videos save every step; the last one is the result
    w = w.reshape(1, -1, w.shape[-1]) if w.ndim >= 2 else w.reshape(1, 1, -1)
    if w.shape[-1] != G.w_dim or w.shape[1] not in (1, G.num_ws):
        raise EqvizError(f"W vector in {path} has shape {list(w.shape)}, but this model wants [1, {G.num_ws}, {G.w_dim}]")
    return w.expand(1, G.num_ws, G.w_dim).clone()


def save_w(path, ws, overwrite: bool = True) -> None:
    """One W as NVIDIA's projector saves it, written atomically: [1, num_ws, w_dim] float32 in a .npz under
    key 'w', or a bare .npy when `path` ends in .npy (what `load_w` reads back)."""
    ws = ws.detach().to("cpu", torch.float32).numpy() if torch.is_tensor(ws) else np.asarray(ws, dtype=np.float32)
    ws = ws.reshape(1, *ws.shape[-2:])
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
        if Path(path).suffix.lower() == ".npy":
            np.save(f, ws)
        else:
            np.savez(f, w=ws)


def mixed_layers(session, num_ws: int) -> list[int]:
    """The ws indices style mixing takes from the mix seed: those chosen one by one, else the
    [first, last) range; only indices the model has."""
    if session.mix_layers is None:  # the range clipped to the model before it is walked
        return list(range(max(session.mix_range[0], 0), min(session.mix_range[1], num_ws)))
    return sorted({int(i) for i in session.mix_layers if 0 <= int(i) < num_ws})


@torch.no_grad()
def session_ws(G, session, device="cpu") -> torch.Tensor:
    """ws [1, num_ws, w_dim] for a Session: seed grid or W file, A<->B interpolation, mixing, truncation.

    A loaded W file is a final W (ours, or NVIDIA's projector's, saved after any truncation): it is
    used as it is, psi and cutoff do not apply to it; only the style-mixed layers, which come from a
    seed, are truncated."""
    if session.edits:  # edits come last, after truncation: the same ws without them, then moved
        return apply_edits(session_ws(G, dataclasses.replace(session, edits=[]), device), session.edits)
    if session.seed_b is not None and session.interp_t == 0:  # t = 0 is A itself, whatever the space
        return session_ws(G, dataclasses.replace(session, seed_b=None), device)
    plain = session.w_path is None and session.seed_b is None and session.mix_seed is None
    if plain and session.latent_x == math.floor(session.latent_x) and session.latent_y == math.floor(session.latent_y):
        return seed_ws(G, session.seed, session.psi, session.cutoff, session.class_idx, device)

    def raw_ws(seeds):
        z, c = _mapping_input(G, seeds, session.class_idx, device)
        return G.mapping(z, c)

    if session.w_path is not None:
        ws = load_w(session.w_path, G, device)
        if session.mix_seed is not None:
            layers = mixed_layers(session, G.num_ws)
            ws[:, layers] = truncate(G, raw_ws([session.mix_seed]), session.psi, session.cutoff)[:, layers]
        return ws
    pairs = grid_seeds(session.latent_x, session.latent_y)
    weights = torch.tensor([w for _, w in pairs], device=device).view(-1, 1, 1)
    ws = (raw_ws([s for s, _ in pairs]) * weights).sum(0, keepdim=True)  # A: the grid position, blended in W
    if session.seed_b is not None and session.interp_space == "z":
        # Slerp from the grid position's Z, moved so that the path starts at A itself (the Z blend of a
        # fractional position maps near A, not onto it) and ends at B.
        za = torch.from_numpy(grid_z(session.latent_x, session.latent_y, G.z_dim)).to(device)
        zb = torch.from_numpy(z_from_seed(session.seed_b, G.z_dim)).to(device)
        c = class_label(G, session.class_idx, device)
        offset = ws - G.mapping(za.float(), c)
        ws = G.mapping(slerp(za, zb, session.interp_t).float(), c) + (1 - session.interp_t) * offset
    elif session.seed_b is not None:
        ws = lerp(ws, raw_ws([session.seed_b]), session.interp_t)
    if session.mix_seed is not None:
        layers = mixed_layers(session, G.num_ws)
        ws[:, layers] = raw_ws([session.mix_seed])[:, layers]
    return truncate(G, ws, session.psi, session.cutoff)
