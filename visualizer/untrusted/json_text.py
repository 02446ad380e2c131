"""JSON from an untrusted file: depth, numbers and strings bounded, one sentence on refusal.

Python's parser turns `1e400` into infinity, a 5000-digit integer into a ValueError of its own, and
deep nesting into a RecursionError; a megabyte string is legal JSON, and so are 16 million
numbers in 64 MB (2.1 GB and 70 s to parse and check). The values are counted from the text before
it is parsed, numbers are parsed by hooks that refuse what no eqviz file holds, and the parsed
document is walked once (iteratively) to bound its depth and its strings before any field is used.
"""
import json
import math

from eqviz.untrusted.files import FileKind, read_untrusted

MAX_INT_DIGITS = 40        # 2^128 has 39 digits; seeds and counts are far smaller
MAX_DEPTH = 64
MAX_VALUES = 8_000_000     # ImageNet's dataset.json (1.28 million [name, class] pairs) holds 3.9 million


class JSONRefused(ValueError):
    """The text is not JSON, or is JSON no eqviz file could hold (the message says which)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONRefused(f"holds a {len(text.lstrip('-'))}-digit number")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused(f"holds a number too large for a float ({text[:20]})")
    return value


def _constant(name: str):
    raise JSONRefused(f"holds {name}, which is not a number JSON allows")


def parse_json(text: str | bytes, max_string: int = 4096, max_depth: int = MAX_DEPTH):
    """The document `text` holds; JSONRefused when it is not JSON, holds more than MAX_VALUES values,
    nests deeper than `max_depth`, holds a string longer than `max_string` characters, a non-finite or
    NaN number, or an integer longer than MAX_INT_DIGITS digits."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JSONRefused("is not UTF-8 text") from None
    # Every value but the first follows a comma or opens a container: an upper bound, counted in C.
    values = 1 + text.count(",") + text.count("[") + text.count("{")
    if values > MAX_VALUES:
        raise JSONRefused(f"holds about {values:,} values, more than the {MAX_VALUES:,} eqviz reads")
    try:
        document = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise JSONRefused(f"nests deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    check_document(document, max_string, max_depth)
    return document


def load_json(path, kind: FileKind, max_string: int = 4096):
    """The document in the file at `path`, read through `read_untrusted`'s checks and parsed by
    `parse_json`; anything else is the kind's one refusal sentence naming the file."""
    try:
        return parse_json(read_untrusted(path, kind), max_string=max_string)
    except JSONRefused as exc:
        raise kind.refuse(path, str(exc)) from None


def check_document(document, max_string: int, max_depth: int) -> None:
    """Walks a parsed document without recursion: depth and string (and key) lengths bounded."""
    _check_string(document, max_string)
    # Only containers wait their turn, so a flat list of millions of values adds no entries.
    pending = [(document, 0)] if isinstance(document, (list, dict)) else []
    while pending:
        container, depth = pending.pop()
        if depth >= max_depth:
            raise JSONRefused(f"nests deeper than {max_depth} levels")
        if isinstance(container, dict):
            for key in container:
                _check_string(key, max_string)
            container = container.values()
        for item in container:
            if isinstance(item, (list, dict)):
                pending.append((item, depth + 1))
            else:
                _check_string(item, max_string)


def _check_string(value, max_string: int) -> None:
    if isinstance(value, str) and len(value) > max_string:
        raise JSONRefused(f"holds a {len(value):,}-character string (at most {max_string:,} are read)")
