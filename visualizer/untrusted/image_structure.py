"""What Pillow and libjpeg would loop over in an image file, counted before either sees it.

Pillow walks PNG chunks, JPEG marker segments and GIF extension blocks in Python, unpacks TIFF tag
values into Python tuples (and reads each tag's data separately, even where tags share it), and
decodes RLE-compressed BMP in Python; libjpeg decodes a progressive JPEG once per scan. Each costs
per unit, not per byte: 30 MB of 8 million empty JPEG markers took 100 s and 1.4 GB, 96 MB of empty
PNG chunks more than 2 minutes, a 460 kB JPEG repeating one scan 2000 times more than 2 minutes, a
TIFF listing 30 million strips 5 GB, and all of them pack into kilobytes inside a zip. Here the units
are counted without decoding anything, and a file with more than real images hold is refused.
"""
import re
import struct

MAX_PNG_CHUNKS = 1 << 16       # libpng writes 8 kB IDAT chunks: 24,000 for the largest image eqviz reads
MAX_JPEG_SEGMENTS = 4096       # 4096 segments of the largest size already fill the 256 MB a file may have
MAX_JPEG_SCANS = 64            # libjpeg's progressive files have 10 (6 for grey)
MAX_GIF_BLOCKS = 1 << 16       # extension sub-blocks before the first frame (16 MB of comments)
MAX_TIFF_TAGS = 4096           # tags in the first IFD (baseline TIFF defines 36)
MAX_TIFF_VALUES = 1 << 20      # numbers in its tags: 8192^2 pixels in 16x16 tiles need 524,288 offsets and sizes
MAX_RLE_BMP_PIXELS = 1 << 22   # Pillow decodes RLE BMP in Python, about 1 s per million pixels


def structure_problem(data: bytes | bytearray) -> str | None:
    """Why `data` has more structure than any real image of its format (the middle of a sentence,
    e.g. 'holds more than 64 JPEG scans'), or None. Damage is left for Pillow to name."""
    for magic, check in _CHECKS:
        if data.startswith(magic):
            return check(data)
    return None


def _png(data: bytes) -> str | None:
    pos, chunks = 8, 0
    while pos + 8 <= len(data):
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            return f"holds more than {MAX_PNG_CHUNKS:,} PNG chunks"
        if data[pos + 4:pos + 8] == b"IEND":
            break
        pos += 12 + int.from_bytes(data[pos:pos + 4], "big")
    return None


# A marker: at most 255 stray bytes and 256 fill bytes (Pillow skips each in a Python loop), then its code.
_JPEG_MARKER = re.compile(rb"[^\xff]{0,255}\xff{1,256}([^\x00\xff])")
# The end of a scan's entropy-coded data: an 0xFF whose code is neither stuffing nor a restart (one
# 0xFF, not a run, so a long run of 0xFF is not rescanned from each of its bytes).
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE = {0x01, 0xD8} | set(range(0xD0, 0xD8))


def _jpeg(data: bytes) -> str | None:
    pos, segments, scans = 2, 0, 0
    while True:
        marker = _JPEG_MARKER.match(data, pos)
        if marker is None:
            return None if len(data) - pos < 256 else f"holds {len(data) - pos:,} bytes that are not JPEG markers"
        code, pos = marker.group(1)[0], marker.end()
        if code == 0xD9:  # end of image
            return None
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            return f"holds more than {MAX_JPEG_SEGMENTS:,} JPEG marker segments"
        if code in _STANDALONE:
            continue
        pos += int.from_bytes(data[pos:pos + 2], "big")
        if code == 0xDA:  # start of scan
            scans += 1
            if scans > MAX_JPEG_SCANS:
                return f"holds more than {MAX_JPEG_SCANS} JPEG scans (libjpeg decodes the image once per scan)"
            end = _JPEG_SCAN_END.search(data, pos)
            if end is None:
                return None
            pos = end.start()


def _gif(data: bytes) -> str | None:
    if len(data) < 13:
        return None
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    blocks = 0
    while pos < len(data) and data[pos] == 0x21:  # extensions until the first frame (0x2C) or the end
        pos += 2
        while pos < len(data):
            size = data[pos]
            pos += 1 + size
            blocks += 1
            if blocks > MAX_GIF_BLOCKS:
                return f"holds more than {MAX_GIF_BLOCKS:,} GIF extension blocks before its first frame"
            if size == 0:
                break
    return None


_TIFF_VALUE_BYTES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8,
                     18: 8}
_TIFF_AS_BYTES = {1, 2, 7}  # BYTE, ASCII and UNDEFINED stay one bytes object; the others become tuples


def _tiff(data: bytes) -> str | None:
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    head, entry, count_format = (struct.Struct(order + "Q"), 20, "Q") if big else (struct.Struct(order + "I"), 12, "I")
    offset_at = 8 if big else 4
    if len(data) < offset_at + head.size:
        return None
    ifd = head.unpack_from(data, offset_at)[0]
    count_struct = struct.Struct(order + ("Q" if big else "H"))
    if ifd + count_struct.size > len(data):
        return None
    tags = count_struct.unpack_from(data, ifd)[0]
    if tags > MAX_TIFF_TAGS:
        return f"declares {tags:,} TIFF tags, more than the {MAX_TIFF_TAGS:,} eqviz reads"
    field = struct.Struct(order + "HH" + count_format)
    values = tag_bytes = 0
    for i in range(tags):
        at = ifd + count_struct.size + i * entry
        if at + field.size > len(data):
            return None
        _, kind, count = field.unpack_from(data, at)
        tag_bytes += count * _TIFF_VALUE_BYTES.get(kind, 0)
        values += 0 if kind in _TIFF_AS_BYTES else count
    if values > MAX_TIFF_VALUES:
        return f"declares {values:,} numbers in its TIFF tags, more than the {MAX_TIFF_VALUES:,} eqviz reads"
    if tag_bytes > len(data):
        return f"declares {tag_bytes:,} bytes of TIFF tags in a file of {len(data):,}"
    return None


def _bmp(data: bytes) -> str | None:
    if len(data) < 34 or int.from_bytes(data[14:18], "little") < 40:
        return None
    width, height, _, _, compression = struct.unpack_from("<iiHHI", data, 18)
    if compression in (1, 2) and abs(width * height) > MAX_RLE_BMP_PIXELS:
        return (f"is a run-length-encoded BMP of {abs(width)}x{abs(height)} pixels; eqviz decodes such BMPs up to "
                f"{MAX_RLE_BMP_PIXELS:,} pixels (save it as PNG)")
    return None


_CHECKS = ((b"\x89PNG\r\n\x1a\n", _png), (b"\xff\xd8", _jpeg), (b"GIF87a", _gif), (b"GIF89a", _gif),
           (b"II*\x00", _tiff), (b"MM\x00*", _tiff), (b"II+\x00", _tiff), (b"MM\x00+", _tiff), (b"BM", _bmp))
