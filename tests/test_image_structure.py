"""The structure counts taken before Pillow opens an image (eqviz.untrusted.image_structure): real
files of every format Pillow writes pass, and each count is refused one unit past its limit."""
import io

import numpy as np
import pytest
from PIL import Image

from eqviz.untrusted import image_structure as structure
from hostile_side_files import (gif_with_comment_blocks, jpeg_segments, jpeg_with_markers, jpeg_with_scans, pillow_bytes,
                                png_with_chunks, rle_bmp, tiff_with_strips)


def saved(image_format, mode="RGB", size=96, frames=1, **options) -> bytes:
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).convert(mode) for _ in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format=image_format, save_all=frames > 1, append_images=images[1:], **options)
    return buffer.getvalue()


def exif() -> bytes:
    tags = Image.Exif()
    tags[0x010F] = "camera maker"
    return tags.tobytes()


REAL_FILES = {
    "png": saved("PNG"), "png grey 16-bit": saved("PNG", "I;16"), "png interlaced palette": saved("PNG", "P"),
    "jpeg": saved("JPEG"), "jpeg progressive": saved("JPEG", progressive=True),
    "jpeg progressive grey optimised": saved("JPEG", "L", progressive=True, optimize=True),
    "jpeg with exif, icc and comment": saved("JPEG", exif=exif(),
                                             icc_profile=bytes(200_000), comment=b"a" * 60_000),
    "jpeg with restart markers": saved("JPEG", restart_marker_blocks=1),
    "jpeg cmyk": saved("JPEG", "CMYK"),
    "gif animated with comment": saved("GIF", "P", frames=3, comment=b"c" * 1000, loop=0),
    "tiff": saved("TIFF"), "tiff lzw": saved("TIFF", compression="tiff_lzw"),
    "tiff tiled": saved("TIFF", tiffinfo={322: 16, 323: 16}, compression="tiff_deflate"),
    "tiff big-endian bigtiff": saved("TIFF", big_tiff=True),
    "bmp": saved("BMP"), "bmp palette": saved("BMP", "P"), "webp": saved("WEBP"),
}


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_files_pass_and_pillow_reads_them(name):
    data = REAL_FILES[name]
    assert structure.structure_problem(data) is None
    Image.open(io.BytesIO(data)).load()


def test_each_count_is_refused_one_past_its_limit():
    scans = 6  # Pillow's progressive grey JPEG
    assert structure.structure_problem(jpeg_with_scans(structure.MAX_JPEG_SCANS - scans)) is None
    assert "more than 64 JPEG scans" in structure.structure_problem(jpeg_with_scans(structure.MAX_JPEG_SCANS - scans + 1))
    segments = len(jpeg_segments(pillow_bytes("JPEG")))
    assert structure.structure_problem(jpeg_with_markers(structure.MAX_JPEG_SEGMENTS - segments)) is None
    assert "JPEG marker segments" in structure.structure_problem(jpeg_with_markers(structure.MAX_JPEG_SEGMENTS - segments + 1))
    assert structure.structure_problem(png_with_chunks(structure.MAX_PNG_CHUNKS - 4)) is None  # IHDR, IDAT, IEND
    assert "PNG chunks" in structure.structure_problem(png_with_chunks(structure.MAX_PNG_CHUNKS - 2))
    assert structure.structure_problem(gif_with_comment_blocks(structure.MAX_GIF_BLOCKS // 2)) is None
    assert "GIF extension blocks" in structure.structure_problem(gif_with_comment_blocks(structure.MAX_GIF_BLOCKS // 2 + 1))
    assert structure.structure_problem(tiff_with_strips(structure.MAX_TIFF_VALUES // 2 - 4)) is None
    assert "numbers in its TIFF tags" in structure.structure_problem(tiff_with_strips(structure.MAX_TIFF_VALUES // 2))
    assert structure.structure_problem(rle_bmp(2048, 2048)) is None
    assert "run-length-encoded BMP" in structure.structure_problem(rle_bmp(2048, 2049))


def test_a_long_run_of_fill_bytes_inside_a_scan_is_walked_in_linear_time():
    data = saved("JPEG")
    end = data.rindex(b"\xff\xd9")
    slow = data[:end] + b"\xff" * 8_000_000 + b"\x00" + data[end:]
    assert structure.structure_problem(slow) is None  # a quadratic search would take minutes


def test_stray_bytes_between_segments_are_refused_beyond_a_few():
    data = saved("JPEG")
    assert structure.structure_problem(data[:2] + b"\x00" * 255 + data[2:]) is None
    assert "not JPEG markers" in structure.structure_problem(data[:2] + b"\x00" * 300 + data[2:])


def test_damaged_files_never_raise_from_the_counting():
    rng = np.random.default_rng(7)
    for name, data in REAL_FILES.items():
        for _ in range(150):
            mutated = bytearray(data[:int(rng.integers(8, len(data) + 1))])
            for at in rng.integers(8, len(mutated), int(rng.integers(1, 9))) if len(mutated) > 8 else ():
                mutated[at] = int(rng.integers(0, 256))
            problem = structure.structure_problem(data[:8] + bytes(mutated[8:]))  # the magic kept: every walker runs
            assert problem is None or isinstance(problem, str), name
