"""What a checkpoint argument names: a local path, a URL, or a published model's name.

A leaf (the standard library and the catalogue only): every command checks its checkpoint
arguments with it before anything heavy is imported, so a missing file answers at once. A file://
URL is the local file it names, wherever a path goes.
"""
import urllib.parse
from pathlib import Path

from eqviz.downloads.catalogue import find_model
from eqviz.errors import EqvizError

URL_SCHEMES = ("http", "https", "file")


class DownloadError(EqvizError):
    """A download failed or was refused; the message names the URL and what to do."""


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


def file_url_path(url: str) -> Path:
    """The local file a file:// URL names (as dnnlib reads them: the URL's path)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise DownloadError(f"{url} names a file on another host ({parsed.netloc}); give a local path or an http(s) URL")
    from urllib.request import url2pathname  # here: urllib.request pulls in the HTTP stack

    return Path(url2pathname(parsed.path))


def local_file(source):
    """`source` with a file:// URL replaced by the path it names, anything else as it is: the form in
    which every check of a local path takes it (nothing is fetched)."""
    if is_url(source) and urllib.parse.urlparse(source.strip()).scheme.lower() == "file":
        return str(file_url_path(source.strip()))
    return source
