"""Fuzzing the readers of side files (tests/side_readers.py) the way checkpoint_fuzz fuzzes checkpoints.

Seeds are valid files of every kind: PNG, JPEG, GIF, BMP, TIFF and WEBP targets; a dataset zip with
labels; a session with edits and mixing; W files (.npz and .npy); direction files (eqviz's .npz and
an imported .npy); torch.save weight files (zip and legacy) for the Inception and LPIPS readers.
`mutate_side` damages one: byte flips and truncation for all, and per format the fields a hostile
file would edit (zip member flags, methods, CRCs and sizes; .npy header shapes and dtypes; JSON
values; image header sizes). Each case runs in checkpoint_fuzz.FuzzRunner's capped child.
"""
import io
import json
import random
import struct
import zipfile

import numpy as np

from checkpoint_fuzz import HOSTILE_VALUES, byte_flips, truncate_at
from hostile_side_files import direction_entries, npy_bytes, npz_of, patch_member, png_image, zip_bytes

READERS = ("target", "fid_data", "session", "w", "directions", "inception", "lpips")


def _image(fmt: str) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def _torch_file(zip_format: bool) -> bytes:
    import torch

    buffer = io.BytesIO()
    state = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4), "fc.weight": torch.randn(2, 4).t()}
    torch.save(state, buffer, _use_new_zipfile_serialization=zip_format)
    return buffer.getvalue()


def make_reader_seeds(reference_dir) -> dict:
    """{seed name: (reader, file suffix, bytes)}: valid files every reader loads."""
    session = {"format": "eqviz-session/1", "latent_x": 3.25, "latent_y": 1.0, "psi": 0.7, "cutoff": 4,
               "mix_seed": 9, "mix_range": [4, 8], "seed_b": 5, "interp_t": 0.3, "view": {"zoom": 2},
               "edits": [{"direction": [1.0] + [0.0] * 63, "alpha": 1.5, "scale": 0.8, "layers": [0, 6],
                          "label": "x"}]}
    labels = {"labels": [["000.png", 1], ["001.png", 0]]}
    w = np.random.default_rng(0).standard_normal((1, 10, 64)).astype(np.float32)
    seeds = {f"target_{fmt.lower()}": ("target", f".{fmt.lower()}", _image(fmt))
             for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}
    seeds["fid_data_zip"] = ("fid_data", ".zip", zip_bytes({"000.png": png_image(), "001.png": png_image(seed=1),
                                                            "dataset.json": json.dumps(labels).encode()}))
    seeds["session"] = ("session", ".json", json.dumps(session).encode())
    seeds["w_npz"] = ("w", ".npz", npz_of({"w": w}))
    seeds["w_npy"] = ("w", ".npy", npy_bytes(w))
    seeds["directions_npz"] = ("directions", ".npz", npz_of(direction_entries(reference_dir)))
    seeds["directions_npy"] = ("directions", ".npy", npy_bytes(np.random.default_rng(2).standard_normal((3, 64))))
    for reader in ("inception", "lpips"):
        seeds[f"{reader}_zip"] = (reader, ".pth", _torch_file(True))
        seeds[f"{reader}_legacy"] = (reader, ".pth", _torch_file(False))
    return seeds


_HUGE_INT, _DEEP, _LONG = object(), object(), object()  # markers for values made on demand


def _json_value(rng: random.Random):
    value = rng.choice(HOSTILE_VALUES + [_HUGE_INT, _DEEP, _LONG])
    if value is _HUGE_INT:
        return 10 ** rng.choice([20, 400, 5000])
    if value is _DEEP:
        deep = []
        for _ in range(rng.choice([60, 500])):
            deep = [deep]
        return deep
    if value is _LONG:
        return "y" * rng.choice([5000, 2_000_000])
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value


def _mutate_json(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    document = json.loads(data)
    spots = []  # (container, key) of every value

    def walk(value):
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            spots.append((value, key))
            walk(item)

    walk(document)
    container, key = rng.choice(spots)
    container[key] = _json_value(rng)
    try:
        text = json.dumps(document, allow_nan=True)
    except (ValueError, RecursionError):
        return byte_flips(data, rng, None)
    if rng.random() < 0.1:  # what json.dumps cannot write
        text = text.replace("1.5", rng.choice(["1e400", "-1e400", "Infinity", "9" * 5000]), 1)
    return text.encode(), f"JSON {str(key)[:20]!r} -> {type(container[key]).__name__}"


def _mutate_zip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        members = {name: z.read(name) for name in names}
    if rng.random() < 0.5:  # one member's headers
        choice = rng.randrange(4)
        edit = [{"flag": 1}, {"method": rng.choice([1, 8, 9, 12, 14, 99])}, {"crc": rng.randrange(2 ** 32)},
                {"size": rng.choice([0, 1, 2 ** 31, 2 ** 32 - 2])}][choice]
        name = rng.choice(names)  # patch_member edits the first member: put this one first
        reordered = zip_bytes({name: members[name], **{n: d for n, d in members.items() if n != name}})
        return patch_member(reordered, **edit), f"zip member {name} {edit}"
    name = rng.choice(names)  # one member's content, mutated by its own kind
    inner, what = mutate_side(name.rsplit(".", 1)[-1], members[name], rng)
    members[name] = inner
    return zip_bytes(members), f"zip member {name}: {what}"


def _mutate_npy(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    array = np.load(io.BytesIO(data), allow_pickle=False)
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False, "shape": array.shape}
    field = rng.choice(["descr", "shape", "fortran_order"])
    header[field] = {"descr": rng.choice(["<U8", "|O", "<c8", "|b1", "<i8", ">f4", "|V16", "<f2"]),
                     "shape": rng.choice([(), (0,), (2 ** 40,), (1, 10, 64, 1), (10 ** 9, 64), (-1, 64)]),
                     "fortran_order": True}[field]
    try:
        head = npy_bytes(header=header)
    except ValueError:
        return byte_flips(data, rng, None)
    body = array.tobytes()
    return head + body[:rng.choice([len(body), len(body) // 2, 0])], f".npy header {field} -> {header[field]}"


def _mutate_png(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    out = bytearray(data)
    width, height = rng.choice([(0, 1), (2 ** 31 - 1, 1), (13000, 13000), (65535, 65535), (1, 2 ** 30)])
    struct.pack_into(">II", out, 16, width, height)  # IHDR's CRC is now wrong unless the reader ignores it
    return bytes(out), f"PNG IHDR {width}x{height}"


def mutate_side(kind: str, data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One damaged copy of a seed of `kind` (a file suffix without the dot, or a reader name)."""
    roll = rng.random()
    if roll < 0.25:
        return byte_flips(data, rng, None)
    if roll < 0.4:
        return truncate_at(data, rng, None)
    if kind in ("json", "session"):
        return _mutate_json(data, rng)
    if data[:2] == b"PK":
        return _mutate_zip(data, rng)
    if kind == "npy":
        return _mutate_npy(data, rng)
    if kind == "png":
        return _mutate_png(data, rng)
    return byte_flips(data, rng, None)
