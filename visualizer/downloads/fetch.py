"""A URL or a published model's name becomes a local file: from eqviz's cache, from NVIDIA's
(dnnlib's) cache, or downloaded once.

What comes back is only a path: whoever opens it applies exactly the checks a file the user gave
would get (a downloaded checkpoint passes the same loading gates; nothing about a URL is trusted
more). `EQVIZ_OFFLINE=1` never touches the network: a file not cached is one sentence naming the
URL to fetch and the folder to put it in.
"""
import os
import urllib.parse
from pathlib import Path
from typing import Callable

from eqviz.atomic_io import partial_name, remove_stale_partials
from eqviz.cache import file_digest
from eqviz.downloads import store
from eqviz.downloads.catalogue import find_model, mirrored
from eqviz.downloads.sources import file_url_path, is_url
from eqviz.downloads.transfer import DownloadError, TransferSettings, Unreachable, transfer

OFFLINE_ENV = "EQVIZ_OFFLINE"


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def fetch(url: str, progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None,
          sha256_prefix: str | None = None, settings: TransferSettings = TransferSettings()) -> Path:
    """The local file for `url`: cached, reused from dnnlib's cache, or downloaded now.

    Args:
        url: http://, https:// or file:// (a file:// URL is its local path; nothing is copied).
        progress: progress(bytes_done, bytes_total) while downloading (total 0 while unknown).
        cancel: polled between chunks; stops with eqviz.errors.Cancelled, leaving nothing behind.
        sha256_prefix: the start of the file's sha256 in hex, when the file's name promises one (as
            torch hub's files do): a file that does not match is deleted and refused.
        settings: timeouts, tries, size cap, redirects (TransferSettings).
    """
    url = url.strip()
    scheme = urllib.parse.urlparse(url).scheme.lower()
    if scheme == "file":
        return file_url_path(url)
    if scheme not in ("http", "https"):
        raise DownloadError(f"{url} is not an http, https or file URL")
    source = mirrored(url)
    cached = store.cached_file(url)
    if cached is not None:
        return checked(cached, url, sha256_prefix, delete=True)
    for known_url in dict.fromkeys((url, source)):
        reused = store.dnnlib_file(known_url)
        if reused is not None:
            return checked(reused, url, sha256_prefix, delete=False)
    folder = store.entry_folder(url)
    if offline():
        raise DownloadError(f"{url} is not downloaded and {OFFLINE_ENV} is set; fetch it on a connected machine and "
                            f"put it into {folder}/ as {store.file_name(url)}")
    return download(url, source, folder, progress, cancel, sha256_prefix, settings)


def download(url: str, source: str, folder: Path, progress, cancel, sha256_prefix, settings) -> Path:
    """Downloads `source` into the cache entry of `url` under a partial name, renamed when complete."""
    final = store.entry_path(url)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the download folder {folder}: {exc.strerror}; set EQVIZ_CACHE to a "
                            "writable folder") from None
    remove_stale_partials(final)
    partial = partial_name(final)
    try:
        try:
            transfer(source, partial, progress=progress, cancel=cancel, settings=settings)
        except Unreachable as exc:
            raise DownloadError(f"{exc}; or download {source} elsewhere and put it into {folder}/ as "
                                f"{final.name}") from None
        checked(partial, source, sha256_prefix, delete=True)
        try:
            return store.keep(partial, url)
        except OSError as exc:  # the cache was cleared or moved meanwhile
            raise DownloadError(f"cannot keep the download of {url} in {folder} ({exc.strerror}); try again") from None
    finally:
        partial.unlink(missing_ok=True)


def checked(path: Path, url: str, sha256_prefix: str | None, delete: bool) -> Path:
    """`path` when its sha256 starts with `sha256_prefix` (or no prefix is promised); the message
    names the URL (and the file only when it stays: a deleted download's name is of no use)."""
    if sha256_prefix:
        digest = file_digest(path)
        if not digest.startswith(sha256_prefix.lower()):
            if delete:
                path.unlink(missing_ok=True)
                (path.parent / store.RECORD).unlink(missing_ok=True)
            what = f"the download of {url}" if delete else f"{path} (NVIDIA's copy of {url})"
            done = "it was deleted: " if delete else "delete it: "
            raise DownloadError(f"{what} has sha256 {digest[:12]}..., not the {sha256_prefix}... its name promises; "
                                f"{done}the file is damaged or not the published one")
    return path


def local_checkpoint(source, progress: Callable[[int, int], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> Path:
    """A checkpoint argument as a local path: a path as it is; a URL or a published model's name
    (`eqviz models`) fetched. A local file wins over a published name it happens to share."""
    if not isinstance(source, str):
        return Path(source)
    text = source.strip()
    if is_url(text):
        return fetch(text, progress=progress, cancel=cancel)
    path = Path(text).expanduser()
    model = find_model(text)
    if model is None or path.exists():
        return path
    return fetch(model.url, progress=progress, cancel=cancel)
