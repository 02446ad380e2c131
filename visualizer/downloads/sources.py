"""What a checkpoint argument names: a local path, a URL, or a published model's name.

A leaf (the standard library and the catalogue only): every command checks its checkpoint
arguments with it before anything heavy is imported, so a missing file answers at once.
"""
import urllib.parse
from pathlib import Path

from eqviz.downloads.catalogue import find_model

URL_SCHEMES = ("http", "https", "file")


def is_url(text) -> bool:
    return isinstance(text, str) and urllib.parse.urlparse(text.strip()).scheme.lower() in URL_SCHEMES \
        and "://" in text


def is_remote(source) -> bool:
    """Whether `local_checkpoint(source)` may have to download (a URL, or a published name not on disk)."""
    if not isinstance(source, str):
        return False
    text = source.strip()
    if is_url(text):
        return urllib.parse.urlparse(text).scheme.lower() != "file"
    return find_model(text) is not None and not Path(text).expanduser().exists()
