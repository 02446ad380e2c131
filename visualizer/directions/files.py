"""Direction files: eqviz's own `.npz`, and `.npy` vectors such as InterFaceGAN's boundaries.

eqviz's file holds `directions` [K, w_dim] (unit rows), `values` [K] (eigenvalues, variances or
imported norms), `scales` [K] (sigma of W along each row), `method`, `layers` ([first, last) ws)
and the model's identity (`model_kind`, `model_resolution`, `model_w_dim`, `model_num_ws`,
`model_weights_sha256`); a file made for another model is refused. Files are read without pickle
and their sizes checked before any array is read.
"""
import zipfile
from pathlib import Path

import numpy as np

from eqviz.atomic_io import atomic_output
from eqviz.directions.basis import Directions, unit_rows
from eqviz.directions.identity import ModelIdentity, model_identity
from eqviz.directions.layers import check_layers, default_layers
from eqviz.directions.w_statistics import sigmas_along, w_moments
from eqviz.errors import EqvizError

FILE_FORMAT = "eqviz-directions/1"
MAX_DIRECTIONS = 4096          # rows a file may hold
MAX_ARRAY_BYTES = 64 << 20     # bytes any one array may hold once read
MAX_MEMBERS = 32               # arrays an .npz may hold (eqviz writes 11)
IMPORT_SCALE_SAMPLES = 4096    # mapped samples that measure sigma of W along imported vectors


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
    if not path.is_file():
        raise EqvizError(f"direction file {path} does not exist or is not a regular file")
    if path.suffix == ".npy":
        return _imported(path, G)
    if path.suffix == ".npz":
        return _eqviz_file(path, G)
    raise EqvizError(f"{path.name}: direction files are eqviz's .npz or a .npy of vectors (e.g. InterFaceGAN's boundary)")


def _check_header(path: Path, shape, dtype, what: str) -> None:
    if dtype.kind != "f" or dtype.hasobject:
        raise EqvizError(f"{path.name}: {what} must be floating point, got {dtype}")
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > MAX_ARRAY_BYTES:
        raise EqvizError(f"{path.name}: {what} of shape {list(shape)} is larger than a direction file can be")


def _npy_header(f, name: str):
    """(shape, dtype) from a .npy header, read without reading the array."""
    try:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"unsupported .npy version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
    except (OSError, ValueError) as exc:
        raise EqvizError(f"{name} is not a readable .npy array ({exc})") from None
    return shape, dtype


def _imported(path: Path, G) -> Directions:
    with open(path, "rb") as f:
        shape, dtype = _npy_header(f, path.name)
    _check_header(path, shape, dtype, "the vectors")
    if len(shape) not in (1, 2) or shape[-1] != G.w_dim or not 1 <= (shape[0] if len(shape) == 2 else 1) <= MAX_DIRECTIONS:
        raise EqvizError(f"{path.name} has shape {list(shape)}; this model wants vectors of shape [{G.w_dim}], "
                         f"[1, {G.w_dim}] or [K, {G.w_dim}] with K up to {MAX_DIRECTIONS}")
    vectors = np.load(path, allow_pickle=False).astype(np.float64).reshape(-1, G.w_dim)
    if not np.isfinite(vectors).all():
        raise EqvizError(f"{path.name} holds NaN or infinite values")
    directions = unit_rows(vectors)
    scales = sigmas_along(w_moments(G, IMPORT_SCALE_SAMPLES).covariance, directions)
    return Directions(directions=directions.astype(np.float32), values=np.linalg.norm(vectors, axis=1), scales=scales,
                      method="imported", layers=default_layers(G), model=model_identity(G))


def _eqviz_file(path: Path, G) -> Directions:
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise EqvizError(f"{path.name} is not a readable .npz file ({exc})") from None
    with npz:
        if len(npz.zip.namelist()) > MAX_MEMBERS:
            raise EqvizError(f"{path.name} holds {len(npz.zip.namelist())} arrays; an eqviz direction file holds 11")
        for member in npz.zip.namelist():  # every array's header checked before any array is read
            with npz.zip.open(member) as f:
                shape, dtype = _npy_header(f, f"{path.name}:{member}")
            if dtype.hasobject or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > MAX_ARRAY_BYTES:
                raise EqvizError(f"{path.name} holds an array ({member}, {dtype}, {list(shape)}) that no direction "
                                 "file has; it is not eqviz's")
        try:
            if str(npz["format"]) != FILE_FORMAT:
                raise EqvizError(f"{path.name} is not an eqviz direction file (format {str(npz['format'])!r})")
            saved = ModelIdentity(kind=str(npz["model_kind"]), resolution=int(npz["model_resolution"]),
                                  w_dim=int(npz["model_w_dim"]), num_ws=int(npz["model_num_ws"]),
                                  weights_sha256=str(npz["model_weights_sha256"]))
            arrays = {name: npz[name] for name in ("directions", "values", "scales", "layers")}
            method = str(npz["method"])
        except KeyError as exc:
            raise EqvizError(f"{path.name} is not an eqviz direction file (no {exc} entry)") from None
        except ValueError as exc:  # an object array refused by allow_pickle=False, or a malformed entry
            raise EqvizError(f"{path.name} has an unreadable entry ({exc})") from None
    here = model_identity(G)
    if saved != here:
        raise EqvizError(f"{path.name} holds directions for a {saved.describe()}, not for this {here.describe()}; "
                         "compute directions for this model instead")
    directions = arrays["directions"]
    _check_header(path, directions.shape, directions.dtype, "directions")
    if directions.ndim != 2 or not 1 <= directions.shape[0] <= MAX_DIRECTIONS or directions.shape[1] != G.w_dim \
            or arrays["layers"].shape != (2,):
        raise EqvizError(f"{path.name} has directions of shape {list(directions.shape)} and layers "
                         f"{arrays['layers'].tolist()}; expected [K, {G.w_dim}] and [first, last]")
    try:
        return Directions(directions=directions.astype(np.float32), values=arrays["values"].astype(np.float64),
                          scales=arrays["scales"].astype(np.float64), method=method,
                          layers=check_layers(G, arrays["layers"].tolist()), model=here)
    except (TypeError, ValueError) as exc:
        raise EqvizError(f"{path.name} has values, scales or layers that are not numbers ({exc})") from None
