"""numpy arrays from untrusted .npy and .npz files, without pickle and without trusting the header.

`np.load` allocates the shape a header declares before reading the data, returns raw bytes for an
.npz member whose name lacks `.npy`, and meets string dtypes, bad CRCs and odd compressions with
exceptions of many kinds. Here the header is read first, its dtype must be a plain number (or a
short string, where the caller allows one) and its size within a cap, then exactly that many bytes
are read and must be present.
"""
import io
import math
import tokenize

import numpy as np

from eqviz.untrusted.archives import UntrustedZip
from eqviz.errors import first_line
from eqviz.untrusted.files import FileKind, open_untrusted
from eqviz.untrusted.messages import format_size

NUMBER_KINDS = "biuf"         # bool, signed and unsigned integers, floats
MAX_MEMBERS = 32              # arrays an .npz may hold (eqviz's direction file holds 11)
MAX_STRING_CHARS = 4096       # of a string array ('U' dtype), where strings are allowed


def _header(f, kind: FileKind, where):
    """(shape, fortran_order, dtype) of the .npy at `f`'s position."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        if version in ((2, 0), (3, 0)):
            return np.lib.format.read_array_header_2_0(f)
        raise ValueError(f"unknown .npy version {version}")
    except tokenize.TokenError:  # numpy re-reads a header literal_eval refused with tokenize (for old files)
        raise kind.refuse(where, "is not a readable .npy array (its header is not a complete dictionary)") from None
    except (OSError, ValueError, SyntaxError, TypeError, EOFError, RecursionError) as exc:
        raise kind.refuse(where, f"is not a readable .npy array ({first_line(exc)})") from None


def read_npy(f, kind: FileKind, where, max_bytes: int, strings: bool = False) -> np.ndarray:
    """The array of the .npy at `f`'s position: a plain number dtype (or, with `strings`, a 'U'
    string of at most MAX_STRING_CHARS characters) of at most `max_bytes`, all its bytes present."""
    shape, fortran, dtype = _header(f, kind, where)
    plain = dtype.fields is None and dtype.subdtype is None and not dtype.hasobject
    if not plain or dtype.kind not in NUMBER_KINDS + ("U" if strings else ""):
        raise kind.refuse(where, f"holds an array of type {str(dtype)[:40]}; only plain numbers are read")
    if dtype.kind == "U" and (dtype.itemsize // 4 > MAX_STRING_CHARS or shape != ()):
        raise kind.refuse(where, f"holds a string field of shape {list(shape)[:8]} and type {str(dtype)[:40]}; "
                                 f"string fields are single strings of at most {MAX_STRING_CHARS} characters")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise kind.refuse(where, f"declares an array of shape {list(shape)[:8]} ({format_size(nbytes)}), more "
                                 f"than the {format_size(max_bytes)} such an array may have")
    try:
        data = f.read(nbytes)
    except (OSError, EOFError, ValueError) as exc:
        raise kind.refuse(where, f"is damaged ({first_line(exc)})") from None
    if len(data) != nbytes:
        raise kind.refuse(where, f"is truncated: its header declares {nbytes:,} bytes of data, {len(data):,} "
                                 "are present")
    array = np.frombuffer(bytearray(data), dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def load_npy(path, kind: FileKind, strings: bool = False) -> np.ndarray:
    """The array of an .npy file, through `open_untrusted` and `read_npy` (cap: the kind's size)."""
    with open_untrusted(path, kind) as f:
        return read_npy(f, kind, path, kind.max_bytes, strings)


def load_npz(path, kind: FileKind, max_array_bytes: int, strings: bool = False) -> dict:
    """{name: array} of an .npz (an uncompressed or deflated zip of .npy members): at most
    MAX_MEMBERS members, each named `*.npy`, each read through `read_npy`, inflating to at most the
    kind's size cap in all (each member's cap alone would allow MAX_MEMBERS times that)."""
    with UntrustedZip(path, kind) as archive:
        names = archive.names()
        if len(names) > MAX_MEMBERS:
            raise kind.refuse(path, f"holds {len(names):,} arrays, more than the {MAX_MEMBERS} eqviz reads")
        if archive.inflated_size() > kind.max_bytes:
            raise kind.refuse(path, f"inflates to {format_size(archive.inflated_size())} in all, more than the "
                                    f"{format_size(kind.max_bytes)} such a file may hold")
        arrays = {}
        for name in names:
            if not name.endswith(".npy"):
                raise kind.refuse(f"{path}:{name[:200]}", "is not an .npy array (an .npz holds only .npy members)")
            data = archive.read(name, max_array_bytes + 65536)  # the array and its header
            arrays[name[:-4]] = read_npy(io.BytesIO(data), kind, f"{path}:{name[:200]}", max_array_bytes, strings)
        return arrays
