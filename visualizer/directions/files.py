"""Direction files: eqviz's own `.npz`, and `.npy` vectors such as InterFaceGAN's boundaries.

eqviz's file holds `directions` [K, w_dim] (unit rows), `values` [K] (eigenvalues, variances or
imported norms), `scales` [K] (sigma of W along each row), `method`, `layers` ([first, last) ws)
and the model's identity (`model_kind`, `model_resolution`, `model_w_dim`, `model_num_ws`,
`model_weights_sha256`); a file made for another model is refused. Files are read without pickle
and their sizes checked before any array is read.
"""
from pathlib import Path

import numpy as np

from eqviz.atomic_io import atomic_output
from eqviz.core.edits import MAX_SCALE, UNIT_TOLERANCE
from eqviz.directions.basis import METHODS, Directions, unit_rows
from eqviz.directions.identity import ModelIdentity, model_identity
from eqviz.directions.layers import check_layers, default_layers
from eqviz.directions.w_statistics import sigmas_along, w_moments
from eqviz.errors import EqvizError
from eqviz.untrusted.messages import short_text
from eqviz.untrusted.arrays import load_npy, load_npz
from eqviz.untrusted.files import FileKind, check_regular_file

FILE_FORMAT = "eqviz-directions/1"
MAX_DIRECTIONS = 4096          # rows a file may hold
MAX_ARRAY_BYTES = 64 << 20     # bytes any one array may hold once read
IMPORT_SCALE_SAMPLES = 4096    # mapped samples that measure sigma of W along imported vectors
MAX_IMPORTED_VALUE = 1e6       # |entry| of an imported vector (InterFaceGAN's boundaries are unit normals)
DIRECTION_FILE = FileKind("direction file", 256 << 20, "pass an .npz saved by eqviz directions, or a .npy of "
                          "vectors [K, w_dim]")


def save_directions(path, directions: Directions, overwrite: bool = True) -> None:
    """Writes eqviz's .npz atomically (the file appears only once complete)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise EqvizError(f"direction files end in .npz, got {path.name}; choose a name such as dirs.npz")
    model = directions.model
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
        np.savez(f, format=np.str_(FILE_FORMAT), directions=directions.directions.astype(np.float32),
                 values=directions.values.astype(np.float64), scales=directions.scales.astype(np.float64),
                 method=np.str_(directions.method), layers=np.asarray(directions.layers, dtype=np.int64),
                 model_kind=np.str_(model.kind), model_resolution=np.int64(model.resolution),
                 model_w_dim=np.int64(model.w_dim), model_num_ws=np.int64(model.num_ws),
                 model_weights_sha256=np.str_(model.weights_sha256))


def load_directions(path, G) -> Directions:
    """Directions for generator G from eqviz's .npz (refused when made for another model) or from a
    .npy of shape [w_dim], [1, w_dim] or [K, w_dim] (rows made unit length; alpha's sigma measured on G)."""
    path = Path(path)
    check_regular_file(path, DIRECTION_FILE)
    if path.suffix == ".npy":
        return _imported(path, G)
    if path.suffix == ".npz":
        return _eqviz_file(path, G)
    raise EqvizError(f"{path.name}: direction files are eqviz's .npz or a .npy of vectors (e.g. InterFaceGAN's boundary)")


def _imported(path: Path, G) -> Directions:
    vectors = load_npy(path, DIRECTION_FILE)
    if vectors.dtype.kind != "f" or vectors.ndim not in (1, 2) or vectors.shape[-1] != G.w_dim \
            or not 1 <= (vectors.shape[0] if vectors.ndim == 2 else 1) <= MAX_DIRECTIONS:
        raise EqvizError(f"{path.name} has shape {list(vectors.shape)[:8]} ({vectors.dtype}); this model wants "
                         f"floating-point vectors of shape [{G.w_dim}], [1, {G.w_dim}] or [K, {G.w_dim}] with K up "
                         f"to {MAX_DIRECTIONS}")
    if not np.isfinite(vectors).all():
        raise DIRECTION_FILE.refuse(path, "holds NaN or infinite values")
    if np.abs(vectors).max() > MAX_IMPORTED_VALUE:  # their lengths would overflow
        raise DIRECTION_FILE.refuse(path, f"holds values beyond +-{MAX_IMPORTED_VALUE:g}; direction vectors are "
                                          "unit-length or near it")
    vectors = vectors.astype(np.float64).reshape(-1, G.w_dim)
    directions = unit_rows(vectors)
    scales = sigmas_along(w_moments(G, IMPORT_SCALE_SAMPLES).covariance, directions)
    return Directions(directions=directions.astype(np.float32), values=np.linalg.norm(vectors, axis=1), scales=scales,
                      method="imported", layers=default_layers(G), model=model_identity(G))


def _field(arrays: dict, path: Path, name: str, kind: str):
    """A scalar entry of eqviz's file: a string ('U') or a whole number ('i'), as a Python value."""
    if name not in arrays:
        raise DIRECTION_FILE.refuse(path, f"has no '{name}' entry; it is not an eqviz direction file")
    value = arrays[name]
    if value.shape != () or value.dtype.kind != kind:
        raise DIRECTION_FILE.refuse(path, f"has a '{name}' entry of type {value.dtype} and shape "
                                          f"{list(value.shape)[:8]}; an eqviz direction file holds one "
                                          f"{'string' if kind == 'U' else 'whole number'} there")
    return str(value) if kind == "U" else int(value)


def _eqviz_file(path: Path, G) -> Directions:
    arrays = load_npz(path, DIRECTION_FILE, MAX_ARRAY_BYTES, strings=True)
    if _field(arrays, path, "format", "U") != FILE_FORMAT:
        raise DIRECTION_FILE.refuse(path, f"has format {short_text(str(arrays['format']))}, not {FILE_FORMAT!r}")
    saved = ModelIdentity(kind=_field(arrays, path, "model_kind", "U"),
                          resolution=_field(arrays, path, "model_resolution", "i"),
                          w_dim=_field(arrays, path, "model_w_dim", "i"), num_ws=_field(arrays, path, "model_num_ws", "i"),
                          weights_sha256=_field(arrays, path, "model_weights_sha256", "U"))
    method = _field(arrays, path, "method", "U")
    if method not in METHODS:
        raise DIRECTION_FILE.refuse(path, f"names method {short_text(method)}, not one of {', '.join(METHODS)}")
    here = model_identity(G)
    if saved != here:
        raise EqvizError(f"{path.name} holds directions for a {saved.describe()}, not for this {here.describe()}; "
                         "compute directions for this model instead")
    for name in ("directions", "values", "scales", "layers"):
        if name not in arrays:
            raise DIRECTION_FILE.refuse(path, f"has no '{name}' entry; it is not an eqviz direction file")
    directions, values, scales, layers = (arrays[n] for n in ("directions", "values", "scales", "layers"))
    k = directions.shape[0] if directions.ndim == 2 else 0
    if directions.ndim != 2 or not 1 <= k <= MAX_DIRECTIONS or directions.shape[1] != G.w_dim \
            or layers.shape != (2,) or layers.dtype.kind != "i" or values.shape != (k,) or scales.shape != (k,) \
            or any(a.dtype.kind != "f" for a in (directions, values, scales)):
        raise DIRECTION_FILE.refuse(path, f"has directions {list(directions.shape)[:8]}, values "
                                          f"{list(values.shape)[:8]}, scales {list(scales.shape)[:8]} and layers "
                                          f"{list(layers.shape)[:8]}; expected floats [K, {G.w_dim}], [K], [K] and "
                                          "integers [first, last]")
    if not (np.isfinite(directions).all() and np.isfinite(values).all() and np.isfinite(scales).all()):
        raise DIRECTION_FILE.refuse(path, "holds NaN or infinite values")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing length is refused just below
        norms = np.linalg.norm(directions.astype(np.float64), axis=1)
    if np.abs(norms - 1).max() > UNIT_TOLERANCE:
        worst = float(norms[np.abs(norms - 1).argmax()])
        raise DIRECTION_FILE.refuse(path, f"has a direction of length {worst:.3g}; the format holds unit vectors")
    if not ((scales > 0) & (scales <= MAX_SCALE)).all():
        raise DIRECTION_FILE.refuse(path, f"has a scale outside (0, {MAX_SCALE:g}]; scales are W's standard "
                                          "deviation along each direction")
    first, last = (int(v) for v in layers)
    if not 0 <= first < last <= G.num_ws:  # the file's fault, not an argument's: said as the file's
        raise DIRECTION_FILE.refuse(path, f"has layers [{first}, {last}), not a range inside this model's "
                                          f"{G.num_ws} ws")
    return Directions(directions=directions.astype(np.float32), values=values.astype(np.float64),
                      scales=scales.astype(np.float64), method=method, layers=check_layers(G, (first, last)),
                      model=here)
