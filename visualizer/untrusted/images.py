"""Images from untrusted files: only the formats eqviz means to read, sized from the header first.

Pillow picks a decoder from a file's first bytes, not its name: a `photo.png` that begins `%!PS` is
EPS, and loading EPS runs Ghostscript on the file's PostScript. So every image is opened with
Pillow's decoders limited to `IMAGE_FORMATS` (never EPS, PS or PDF), after the parts Pillow parses in
Python are counted (image_structure.py), and its pixel count, which the header declares, is checked
before a pixel is decoded.
"""
import contextlib
import io
import logging
import warnings

from PIL import Image, UnidentifiedImageError

from eqviz.errors import first_line
from eqviz.untrusted.files import FileKind, read_untrusted
from eqviz.untrusted.image_structure import structure_problem

# Pillow reports damaged files on its logger and as UserWarnings as well as by raising; with no logging
# set up, Python prints such records to stderr. The refusal sentence is what the user gets.
logging.getLogger("PIL").addHandler(logging.NullHandler())

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")
MAX_PIXELS = 1 << 26            # 8192 x 8192; decoded as RGBA that is 256 MB
MAX_IMAGE_BYTES = 256 << 20     # an image file (a 64-Mpx uncompressed TIFF is 192 MB)


def _extensions() -> frozenset:
    Image.init()
    return frozenset(ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in IMAGE_FORMATS)


IMAGE_EXTENSIONS = _extensions()  # what folder scans pick up: .png, .jpg, ... never .eps/.ps/.pdf
FORMATS_TEXT = ", ".join(IMAGE_FORMATS[:-1]) + " or " + IMAGE_FORMATS[-1]

# First bytes of files that are not images eqviz reads, to say what they are.
_OTHER_CONTENT = ((b"%!PS", "PostScript"), (b"\xc5\xd0\xd3\xc6", "EPS"), (b"%PDF", "PDF"))


def _what_it_is(head: bytes) -> str:
    for magic, name in _OTHER_CONTENT:
        if head.startswith(magic):
            return f"(its content is {name}, which eqviz never opens: it would run code)"
    return "(damaged, or another format)"


@contextlib.contextmanager
def quiet_pillow():
    """Pillow's warnings about damaged files silenced (the refusal says it), its pixel-bomb warning raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def open_image(source, kind: FileKind, name=None) -> Image.Image:
    """An image opened but not decoded, from a path or from bytes already read (a zip member); its
    format one of IMAGE_FORMATS and its size at most MAX_PIXELS. `name` names the image in messages."""
    if not isinstance(source, (bytes, bytearray)):
        source, name = read_untrusted(source, kind), name or source
    stream, head, name = io.BytesIO(source), bytes(source[:8]), name or "image"
    problem = structure_problem(source)
    if problem is not None:
        raise kind.refuse(name, problem)
    try:
        with quiet_pillow():
            image = Image.open(stream, formats=IMAGE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise kind.refuse(name, f"declares more than the {MAX_PIXELS:,} pixels eqviz decodes (scale it down first)") from None
    except UnidentifiedImageError:
        raise kind.refuse(name, f"is not a readable {FORMATS_TEXT} image {_what_it_is(head)}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise kind.refuse(name, f"is a damaged image ({first_line(exc)})") from None
    width, height = image.size
    if width * height > MAX_PIXELS or not (width > 0 and height > 0):
        image.close()
        raise kind.refuse(name, f"declares {width}x{height} pixels, more than the {MAX_PIXELS:,} pixels eqviz decodes (scale it down first)")
    return image


def decode_image(image: Image.Image, kind: FileKind, name, mode: str, draft_size=None) -> Image.Image:
    """`image` decoded and converted to `mode` (a JPEG decoded at the smallest 1/2^k scale still at
    least `draft_size` when given); a damaged image is refused in one sentence."""
    try:
        with image, quiet_pillow():
            if draft_size is not None:
                image.draft(mode, draft_size)
            return image.convert(mode)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise kind.refuse(name, f"is a damaged image ({first_line(exc)})") from None
