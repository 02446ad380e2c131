"""Hostile side inputs, one per class of attack, for every reader of a file eqviz did not write.

`build_all(out_dir, reference_dir)` returns {(reader, class name): (path, words)}: the reader of
side_readers.READERS that gets the file, and the words its refusal must contain (the cause, not only
that it was refused). PostScript payloads would create `POSTSCRIPT_MARKER` if Ghostscript ever ran.
"""
import io
import json
import os
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

POSTSCRIPT_MARKER = Path("/tmp/eqviz-hostile-postscript-ran")
POSTSCRIPT = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"
              b"(" + str(POSTSCRIPT_MARKER).encode() + b") (w) file closefile\nshowpage\n")
EPS_BINARY = b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + POSTSCRIPT
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SPARSE_BYTES = 3 << 30


CASE_NAMES = (
    ("target", "PostScript named photo.png"),
    ("target", "binary EPS named photo.png"),
    ("target", "PDF named photo.png"),
    ("target", "PNG declaring 13000x13000 (0.5 MB class)"),
    ("target", "PNG declaring 9000x9000"),
    ("target", "truncated PNG"),
    ("target", "TIFF cut after 100 bytes (Pillow warns)"),
    ("target", "JPEG repeating a scan 100 times"),
    ("target", "JPEG of 5000 empty marker segments"),
    ("target", "PNG of 70,000 empty chunks"),
    ("target", "GIF of 70,000 comment blocks"),
    ("target", "TIFF listing 600,000 strips"),
    ("target", "TIFF of 64 tags sharing the file as data"),
    ("target", "RLE BMP declaring 8192x8192"),
    ("fid_data", "zip member 000.png is PostScript"),
    ("fid_data", "folder of .eps/.ps/.pdf only"),
    ("fid_data", "folder image 000.png is PostScript"),
    ("fid_data", "zip member inflating to 512 MB"),
    ("fid_data", "zip member lying about its size"),
    ("fid_data", "dataset.json inflating to 96 MB"),
    ("fid_data", "dataset.json nested 100,000 deep"),
    ("fid_data", "ragged labels"),
    ("fid_data", "labels not a list"),
    ("fid_data", "5000-digit label"),
    ("fid_data", "dataset.json of 9 million values"),
    ("fid_data", "encrypted zip member"),
    ("fid_data", "Deflate64 zip member"),
    ("fid_data", "bad CRC zip member"),
    ("fid_data", "zip member declaring 13000x13000"),
    ("fid_data", "zip member 000.jpg repeating a scan 100 times"),
    ("fid_data", "not a zip"),
    ("session", "mix_range [0, 10^12]"),
    ("session", "nested 100,000 deep"),
    ("session", "5000-digit int"),
    ("session", "cutoff 1e400"),
    ("session", "noise_seed 10^30"),
    ("session", "NaN psi"),
    ("session", "3,000,000-character string"),
    ("session", "16M-character string (over the size cap)"),
    ("session", "not UTF-8"),
    ("session", "an unknown 4096-character field"),
    ("session", "psi 1e308"),
    ("session", "translate 1e300"),
    ("session", "edit 1e37 long"),
    ("w", "header declaring 1.86 TiB"),
    ("w", "string dtype"),
    ("w", "object dtype"),
    ("w", "truncated .npy"),
    ("w", ".npy header with a stray byte (numpy's tokenizer fails)"),
    ("w", "NaN W"),
    ("w", "npz raw member"),
    ("w", "npz bad CRC"),
    ("w", "npz encrypted member"),
    ("w", "npz Deflate64 member"),
    ("w", "npz member inflating to 1 GiB"),
    ("w", "npz of 3 members inflating to 160 MB each"),
    ("directions", "rows of length 1e37"),
    ("directions", "array-valued model_resolution"),
    ("directions", "layers beyond the model's ws"),
    ("directions", "scales 1e30"),
    ("directions", "NaN directions"),
    ("directions", "bad CRC"),
    ("directions", "imported vectors of 1e300"),
    ("directions", "truncated .npy"),
    ("directions", "16M-character method"),
    ("directions", "npz of 5 members inflating to 64 MB each"),
    ("inception", "bytearray of 1.4e9 in 62 bytes"),
    ("inception", "tensor record inflating to 512 MB"),
    ("inception", "storage declaring 1e12 elements"),
    ("inception", "pickle calling os.system"),
    ("inception", "a list of tensors"),
    ("lpips", "bytearray of 1.4e9 in 62 bytes"),
    ("lpips", "tensor record inflating to 512 MB"),
    ("target", "named pipe"),
    ("target", "sparse 3 GiB file"),
    ("target", "device /dev/zero"),
    ("session", "named pipe"),
    ("session", "sparse 3 GiB file"),
    ("session", "device /dev/zero"),
    ("w", "named pipe"),
    ("w", "sparse 3 GiB file"),
    ("w", "device /dev/zero"),
    ("directions", "named pipe"),
    ("directions", "sparse 3 GiB file"),
    ("directions", "device /dev/zero"),
    ("inception", "named pipe"),
    ("inception", "sparse 3 GiB file"),
    ("inception", "device /dev/zero"),
    ("lpips", "named pipe"),
    ("lpips", "sparse 3 GiB file"),
    ("lpips", "device /dev/zero"),
    ("fid_data", "named pipe"),
    ("fid_data", "sparse 3 GiB file"),
    ("fid_data", "folder image 001.png is a named pipe"),
    ("fid_data", "folder image of 3 GiB (sparse)"),
)  # what build_all builds, by (reader, class); the test checks the two agree


class RunsCommand:
    """Pickles as a call of os.system that would create POSTSCRIPT_MARKER's sibling if it ran."""

    def __reduce__(self):
        return os.system, (f"touch {POSTSCRIPT_MARKER}-pickle",)


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height RGB pixels and holds none (an IHDR, an empty IDAT, IEND)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def png_image(size: int = 16, seed: int = 0) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def tiff_image() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((24, 20, 3), np.uint8)).save(buffer, format="TIFF")
    return buffer.getvalue()


def pillow_bytes(image_format: str, mode: str = "RGB", size: int = 16, **options) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (size, size), 128).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def jpeg_segments(data: bytes) -> list:
    """A JPEG's marker segments in order, each scan with its entropy-coded data."""
    pos, segments = 2, []
    while data[pos + 1] != 0xD9:
        end = pos + 2 + struct.unpack_from(">H", data, pos + 2)[0]
        if data[pos + 1] == 0xDA:
            while not (data[end] == 0xFF and data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7):
                end += 1
        segments.append(data[pos:end])
        pos = end
    return segments


def jpeg_with_scans(extra: int) -> bytes:
    """A progressive grey JPEG whose last scan is repeated `extra` more times (libjpeg warns, then
    decodes the image once per scan)."""
    segments = jpeg_segments(pillow_bytes("JPEG", "L", 64, progressive=True))
    return b"\xff\xd8" + b"".join(segments) + segments[-1] * extra + b"\xff\xd9"


def jpeg_with_markers(count: int) -> bytes:
    data = pillow_bytes("JPEG")
    return data[:2] + b"\xff\xe1\x00\x02" * count + data[2:]


def png_with_chunks(count: int) -> bytes:
    data = png_image()
    at = data.index(b"IDAT") - 4
    return data[:at] + (struct.pack(">I", 0) + b"abcD" + struct.pack(">I", zlib.crc32(b"abcD"))) * count + data[at:]


def gif_with_comment_blocks(count: int) -> bytes:
    data = pillow_bytes("GIF", "P")
    at = data.index(b",")
    return data[:at] + b"!\xfe\x01a\x00" * count + data[at:]


def tiff_with_strips(strips: int, shared_tags: int = 0) -> bytes:
    """A 16x16 grey TIFF whose StripOffsets and StripByteCounts list `strips` entries, and
    `shared_tags` more tags whose data is all of the file (Pillow reads each tag's data anew)."""
    n_tags = 9 + shared_tags
    data_at = 8 + 2 + 12 * n_tags + 4
    pixels_at = data_at + 8 * strips

    def tag(code, kind, count, value):
        return struct.pack("<HHII", code, kind, count, value)

    tags = [tag(256, 4, 1, 16), tag(257, 4, 1, 16), tag(258, 3, 1, 8), tag(259, 3, 1, 1), tag(262, 3, 1, 1),
            tag(273, 4, strips, data_at), tag(277, 3, 1, 1), tag(278, 4, 1, 1), tag(279, 4, strips, data_at + 4 * strips)]
    size = pixels_at + 256
    tags += [tag(40000 + i, 7, size - 8, 8) for i in range(shared_tags)]
    return (b"II*\x00" + struct.pack("<IH", 8, n_tags) + b"".join(tags) + b"\x00" * 4
            + struct.pack("<I", pixels_at) * strips + struct.pack("<I", 16) * strips + b"\x80" * 256)


def rle_bmp(width: int, height: int) -> bytes:
    """An 8-bit run-length-encoded BMP header declaring width x height pixels (its data: end of bitmap)."""
    palette = bytes(1024)
    data = b"\x00\x01"
    header = 14 + 40 + len(palette)
    return (b"BM" + struct.pack("<IHHI", header + len(data), 0, 0, header)
            + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 256, 0) + palette + data)


def zip_bytes(members: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def zeros_member(name: str, nbytes: int) -> bytes:
    """A one-member zip whose member inflates to `nbytes` zeros (written without holding them)."""
    return zeros_members([name], nbytes)


def zeros_members(names: list, nbytes: int) -> bytes:
    """A zip whose members each inflate to `nbytes` zeros."""
    buffer = io.BytesIO()
    block = bytes(16 << 20)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name in names:
            with z.open(name, "w", force_zip64=True) as f:
                for _ in range(nbytes // len(block)):
                    f.write(block)
    return buffer.getvalue()


def patch_member(data: bytes, flag: int = 0, method: int | None = None, crc: int | None = None,
                 size: int | None = None) -> bytes:
    """Edits the first member's local and central headers: OR `flag` into its flags, set its
    compression method, CRC or declared uncompressed size."""
    out = bytearray(data)
    for signature, base in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature) + base
        struct.pack_into("<H", out, at, struct.unpack_from("<H", out, at)[0] | flag)
        if method is not None:
            struct.pack_into("<H", out, at + 2, method)
        if crc is not None:
            struct.pack_into("<I", out, at + 8, crc)
        if size is not None and struct.unpack_from("<I", out, at + 16)[0] != 0xFFFFFFFF:
            struct.pack_into("<I", out, at + 16, size)
    return bytes(out)


def npy_bytes(array=None, header: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    if header is not None:
        np.lib.format.write_array_header_1_0(buffer, header)
    else:
        np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def torch_zip(pickle_bytes: bytes, records: dict | None = None) -> bytes:
    """A torch.save-style zip: archive/data.pkl and archive/data/<key> records."""
    members = {"archive/data.pkl": pickle_bytes, "archive/version": b"3\n"}
    members.update({f"archive/data/{k}": v for k, v in (records or {}).items()})
    return zip_bytes(members, zipfile.ZIP_STORED)


def tensor_pickle(numel: int) -> bytes:
    """data.pkl of {'w': a float32 tensor of `numel` elements in storage '0'}."""
    return (b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storage"
            b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu" + b"\x8a\x08" + struct.pack("<q", numel)
            + b"tQK\x00" + b"\x8a\x08" + struct.pack("<q", numel) + b"\x85K\x01\x85\x89ccollections\nOrderedDict\n)"
            + b"Rtq\x03Rs.")


def direction_entries(reference_dir: Path) -> dict:
    """The arrays of a valid eqviz direction file for NVIDIA's 64-px StyleGAN2 reference."""
    from eqviz.directions.files import save_directions
    from eqviz.directions.sefa import sefa
    from eqviz.networks import load_generator

    G = load_generator(reference_dir / "pkl" / "sg2_64.pkl")
    buffer = Path(os.environ.get("TMPDIR", "/tmp")) / f"eqviz-dirs-{os.getpid()}.npz"
    save_directions(buffer, sefa(G, num=2, scale_samples=256))
    with np.load(buffer) as npz:
        entries = dict(npz)
    buffer.unlink()
    return entries


def npz_of(entries: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **entries)
    return buffer.getvalue()


def build_all(out_dir: Path, reference_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    session = {"format": "eqviz-session/1", "latent_x": 3.0}
    dirs = direction_entries(reference_dir)
    w = np.zeros((1, 10, 64), np.float32)
    files = {
        # ---- image targets
        ("target", "PostScript named photo.png"): ("photo.png", POSTSCRIPT, "its content is PostScript"),
        ("target", "binary EPS named photo.png"): ("eps.png", EPS_BINARY, "its content is EPS"),
        ("target", "PDF named photo.png"): ("pdf.png", PDF, "its content is PDF"),
        ("target", "PNG declaring 13000x13000 (0.5 MB class)"): ("big.png", png_header(13000, 13000),
                                                                 "pixels eqviz decodes"),
        ("target", "PNG declaring 9000x9000"): ("big9.png", png_header(9000, 9000), "pixels eqviz decodes"),
        ("target", "truncated PNG"): ("cut.png", png_image()[:60], "damaged"),
        ("target", "TIFF cut after 100 bytes (Pillow warns)"): ("cut.tif", tiff_image()[:100], "is not a readable"),
        ("target", "JPEG repeating a scan 100 times"): ("scans.jpg", jpeg_with_scans(100), "more than 64 JPEG scans"),
        ("target", "JPEG of 5000 empty marker segments"): ("markers.jpg", jpeg_with_markers(5000),
                                                            "more than 4,096 JPEG marker segments"),
        ("target", "PNG of 70,000 empty chunks"): ("chunks.png", png_with_chunks(70_000), "more than 65,536 PNG chunks"),
        ("target", "GIF of 70,000 comment blocks"): ("comments.gif", gif_with_comment_blocks(70_000),
                                                     "GIF extension blocks before its first frame"),
        ("target", "TIFF listing 600,000 strips"): ("strips.tif", tiff_with_strips(600_000),
                                                    "1,200,007 numbers in its TIFF tags"),
        ("target", "TIFF of 64 tags sharing the file as data"): ("shared.tif", tiff_with_strips(16, shared_tags=64),
                                                                 "bytes of TIFF tags in a file of"),
        ("target", "RLE BMP declaring 8192x8192"): ("rle.bmp", rle_bmp(8192, 8192), "run-length-encoded BMP"),
        # ---- FID data: folders, zips, dataset.json
        ("fid_data", "zip member 000.png is PostScript"): ("ps.zip", zip_bytes({"000.png": POSTSCRIPT}),
                                                            "its content is PostScript"),
        ("fid_data", "folder of .eps/.ps/.pdf only"): ({"a.eps": POSTSCRIPT, "b.ps": POSTSCRIPT, "c.pdf": PDF},
                                                       None, "holds no images"),
        ("fid_data", "folder image 000.png is PostScript"): ({"000.png": POSTSCRIPT}, None, "its content is PostScript"),
        ("fid_data", "zip member inflating to 512 MB"): ("bomb.zip", zeros_member("000.png", 512 << 20),
                                                         "inflates to 536.9 MB"),
        ("fid_data", "zip member lying about its size"): ("liar.zip", patch_member(zeros_member("000.png", 32 << 20),
                                                                                   size=1000), "damaged"),
        ("fid_data", "dataset.json inflating to 96 MB"): ("labels.zip", _with_member(
            zeros_member("dataset.json", 96 << 20), "000.png", png_image()), "inflates to 100.7 MB"),
        ("fid_data", "dataset.json nested 100,000 deep"): ({"000.png": png_image(), "dataset.json":
                                                            b'{"labels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"},
                                                           None, "nests deeper than"),
        ("fid_data", "ragged labels"): ({"000.png": png_image(), "001.png": png_image(seed=1), "dataset.json": json.dumps(
            {"labels": [["000.png", 1], ["001.png", [1, 2]]]}).encode()}, None, "mixes labels"),
        ("fid_data", "labels not a list"): ({"000.png": png_image(), "dataset.json": b'{"labels": 5}'}, None,
                                            "not a list"),
        ("fid_data", "5000-digit label"): ({"000.png": png_image(), "dataset.json":
                                            b'{"labels": [["000.png", ' + b"9" * 5000 + b"]]}"}, None,
                                           "5000-digit number"),
        ("fid_data", "dataset.json of 9 million values"): ({"000.png": png_image(), "dataset.json":
                                                            b'{"labels": [["000.png", [' + b"0," * 9_000_000 + b"0]]]}"},
                                                           None, "values, more than the 8,000,000"),
        ("fid_data", "encrypted zip member"): ("enc.zip", patch_member(zip_bytes({"000.png": png_image()}), flag=1),
                                               "is encrypted"),
        ("fid_data", "Deflate64 zip member"): ("d64.zip", patch_member(zip_bytes({"000.png": png_image()}), method=9),
                                               "compression method 9"),
        ("fid_data", "bad CRC zip member"): ("crc.zip", patch_member(zip_bytes({"000.png": png_image()}), crc=1),
                                             "Bad CRC"),
        ("fid_data", "zip member declaring 13000x13000"): ("bigpx.zip", zip_bytes({"000.png": png_header(13000, 13000)}),
                                                           "pixels eqviz decodes"),
        ("fid_data", "zip member 000.jpg repeating a scan 100 times"): ("scans.zip", zip_bytes(
            {"000.jpg": jpeg_with_scans(100)}), "more than 64 JPEG scans"),
        ("fid_data", "not a zip"): ("junk.zip", b"PK\x03\x04 not a zip at all", "not a readable zip archive"),
        # ---- sessions
        ("session", "mix_range [0, 10^12]"): ("mix.json", json.dumps({**session, "mix_seed": 1,
                                                                      "mix_range": [0, 10 ** 12]}).encode(),
                                              "mix_range must be"),
        ("session", "nested 100,000 deep"): ("deep.json", b'{"view": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                             "nests deeper than"),
        ("session", "5000-digit int"): ("digits.json", b'{"noise_seed": ' + b"7" * 5000 + b"}", "5000-digit number"),
        ("session", "cutoff 1e400"): ("inf.json", b'{"format": "eqviz-session/1", "cutoff": 1e400}',
                                      "too large for a float"),
        ("session", "noise_seed 10^30"): ("seed.json", json.dumps({**session, "noise_seed": 10 ** 30}).encode(),
                                          "noise_seed must be between"),
        ("session", "NaN psi"): ("nan.json", b'{"format": "eqviz-session/1", "psi": NaN}', "NaN, which is not"),
        ("session", "3,000,000-character string"): ("long.json", json.dumps({**session, "w_path": "x" * 3_000_000})
                                                    .encode(), "3,000,000-character string"),
        ("session", "16M-character string (over the size cap)"): ("huge.json", json.dumps(
            {**session, "w_path": "x" * 16_000_000}).encode(), "more than the 4.2 MB"),
        ("session", "not UTF-8"): ("latin.json", b'{"format": "\xff"}', "not UTF-8"),
        ("session", "an unknown 4096-character field"): ("field.json", json.dumps({**session, "y" * 4096: 1}).encode(),
                                                         "unknown session field"),
        ("session", "psi 1e308"): ("psi.json", json.dumps({**session, "psi": 1e308}).encode(), "psi must be within"),
        ("session", "translate 1e300"): ("far.json", json.dumps({**session, "translate": [1e300, 0]}).encode(),
                                         "translate must be"),
        ("session", "edit 1e37 long"): ("edit.json", json.dumps({**session, "edits": [
            {"direction": [1e37] + [0.0] * 63, "alpha": 1.0, "scale": 1.0, "layers": [0, 10]}]}).encode(),
            "unit vector"),
        # ---- W files
        ("w", "header declaring 1.86 TiB"): ("tib.npy", npy_bytes(header={"descr": "<f4", "fortran_order": False,
                                                                          "shape": (2 ** 19, 2 ** 20)}),
                                             "declares an array of shape [524288, 1048576]"),
        ("w", "string dtype"): ("str.npy", npy_bytes(np.array(["x" * 64] * 10)), "type <U64"),
        ("w", "object dtype"): ("obj.npy", npy_bytes(np.array([{"a": 1}], dtype=object)), "type object"),
        ("w", "truncated .npy"): ("cut.npy", npy_bytes(w)[:-100], "truncated"),
        ("w", ".npy header with a stray byte (numpy's tokenizer fails)"): ("stray.npy", _with_stray_byte(npy_bytes(w)),
                                                                          "header is not a complete dictionary"),
        ("w", "NaN W"): ("nan.npy", npy_bytes(np.full((1, 10, 64), np.nan, np.float32)), "NaN"),
        ("w", "npz raw member"): ("raw.npz", zip_bytes({"w": b"\x00" * 64}), "is not an .npy array"),
        ("w", "npz bad CRC"): ("crc.npz", patch_member(zip_bytes({"w.npy": npy_bytes(w)}), crc=1), "Bad CRC"),
        ("w", "npz encrypted member"): ("enc.npz", patch_member(zip_bytes({"w.npy": npy_bytes(w)}), flag=1),
                                        "is encrypted"),
        ("w", "npz Deflate64 member"): ("d64.npz", patch_member(zip_bytes({"w.npy": npy_bytes(w)}), method=9),
                                        "compression method 9"),
        ("w", "npz member inflating to 1 GiB"): ("bomb.npz", zeros_member("w.npy", 1 << 30), "inflates to 1.1 GB"),
        ("w", "npz of 3 members inflating to 160 MB each"): ("three.npz", zeros_members(
            ["w.npy", "x.npy", "y.npy"], 160 << 20), "inflates to 503.3 MB in all"),
        # ---- direction files
        ("directions", "rows of length 1e37"): ("long.npz", npz_of({**dirs, "directions": dirs["directions"] * 1e37}),
                                                "length 1e+37"),
        ("directions", "array-valued model_resolution"): ("arr.npz", npz_of({**dirs, "model_resolution":
                                                                              np.arange(8_000_000)}),
                                                          "'model_resolution' entry of type int64 and shape [8000000]"),
        ("directions", "layers beyond the model's ws"): ("layers.npz", npz_of({**dirs, "layers": np.array([0, 99])}),
                                                         "has layers [0, 99), not a range inside"),
        ("directions", "scales 1e30"): ("scale.npz", npz_of({**dirs, "scales": dirs["scales"] * 1e30}), "scale outside"),
        ("directions", "NaN directions"): ("nan.npz", npz_of({**dirs, "directions": dirs["directions"] * np.nan}),
                                           "NaN"),
        ("directions", "bad CRC"): ("crc.npz", patch_member(npz_of(dirs), crc=1), "Bad CRC"),
        ("directions", "imported vectors of 1e300"): ("big.npy", npy_bytes(np.full((2, 64), 1e300)),
                                                      "values beyond"),
        ("directions", "truncated .npy"): ("cut.npy", npy_bytes(np.ones((2, 64)))[:-8], "truncated"),
        ("directions", "16M-character method"): ("method.npz", npz_of({**dirs, "method": np.str_("m" * 16_000_000)}),
                                                 "string field"),
        ("directions", "npz of 5 members inflating to 64 MB each"): ("five.npz", zeros_members(
            [f"{name}.npy" for name in "abcde"], 64 << 20), "inflates to 335.5 MB in all"),
        # ---- Inception and LPIPS weights (torch.save files)
        ("inception", "bytearray of 1.4e9 in 62 bytes"): ("ba.pth", torch_zip(
            b"\x80\x02cbuiltins\nbytearray\nJ\x00\x78\x72\x53\x85R."), "refers to 'builtins.bytearray'"),
        ("inception", "tensor record inflating to 512 MB"): ("bomb.pth", _with_member(
            zeros_member("archive/data/0", 512 << 20), "archive/data.pkl", tensor_pickle(3)), "inflates to 536.9 MB"),
        ("inception", "storage declaring 1e12 elements"): ("huge.pth", torch_zip(tensor_pickle(10 ** 12),
                                                                                 {"0": b"\x00" * 12}),
                                                           "declare more than"),
        ("inception", "pickle calling os.system"): ("sys.pth", pickle.dumps(RunsCommand(), protocol=2), "system'"),
        ("inception", "a list of tensors"): ("list.pth", _legacy_list(), "state dict"),
        ("lpips", "bytearray of 1.4e9 in 62 bytes"): ("ba.pth", torch_zip(
            b"\x80\x02cbuiltins\nbytearray\nJ\x00\x78\x72\x53\x85R."), "refers to 'builtins.bytearray'"),
        ("lpips", "tensor record inflating to 512 MB"): ("bomb.pth", _with_member(
            zeros_member("archive/data/0", 512 << 20), "archive/data.pkl", tensor_pickle(3)), "inflates to 536.9 MB"),
    }
    paths = {}
    for i, ((reader, name), (where, data, words)) in enumerate(files.items()):
        folder = out_dir / f"{reader}-{i:02d}"
        folder.mkdir(exist_ok=True)
        if isinstance(where, dict):  # a folder of files
            for file_name, content in where.items():
                (folder / file_name).write_bytes(content)
            paths[(reader, name)] = (folder, words)
        else:
            (folder / where).write_bytes(data)
            paths[(reader, name)] = (folder / where, words)
    for reader, suffix in (("target", ".png"), ("session", ".json"), ("w", ".npy"), ("directions", ".npz"),
                           ("inception", ".pth"), ("lpips", ".pth"), ("fid_data", ".zip")):
        fifo = out_dir / f"fifo-{reader}{suffix}"
        if not fifo.exists():
            os.mkfifo(fifo)
        paths[(reader, "named pipe")] = (fifo, "is a named pipe")
        sparse = out_dir / f"sparse-{reader}{suffix}"
        with open(sparse, "wb") as f:
            f.truncate(SPARSE_BYTES)
        paths[(reader, "sparse 3 GiB file")] = (sparse, "not a readable zip archive" if reader == "fid_data"
                                                else "has 3.2 GB, more than the")
        if reader != "fid_data":
            paths[(reader, "device /dev/zero")] = (Path("/dev/zero"), "is a device")
    folder = out_dir / "fid-fifo-image"
    folder.mkdir(exist_ok=True)
    (folder / "000.png").write_bytes(png_image())
    if not (folder / "001.png").exists():
        os.mkfifo(folder / "001.png")
    paths[("fid_data", "folder image 001.png is a named pipe")] = (folder, "is a named pipe")
    folder = out_dir / "fid-sparse-image"
    folder.mkdir(exist_ok=True)
    with open(folder / "000.png", "wb") as f:
        f.truncate(SPARSE_BYTES)
    paths[("fid_data", "folder image of 3 GiB (sparse)")] = (folder, "has 3.2 GB, more than the")
    return paths


def _with_stray_byte(npy: bytes) -> bytes:
    """The header dict's closing brace replaced by 0x9a (found by the reader fuzzer)."""
    at = npy.index(b"}")
    return npy[:at] + b"\x9a" + npy[at + 1:]


def _with_member(archive: bytes, name: str, data: bytes) -> bytes:
    buffer = io.BytesIO(archive)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_STORED) as z:
        z.writestr(name, data)
    return buffer.getvalue()


def _legacy_list() -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save([torch.zeros(3)], buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()
