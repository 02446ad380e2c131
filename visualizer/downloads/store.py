"""Where downloaded files live: the cache's `downloads` folder, one subfolder per URL, and the
folder NVIDIA's tools (dnnlib) fill with the same files.

Layout: `downloads/<first 16 hex of sha256(URL)>/<file name>` with `entry.json` beside it (URL,
size, sha256). A file is only ever renamed into place complete, after its record is written; a
cached file whose size or sha256 no longer matches its record, or whose record cannot be read, is
deleted, never used. A file that someone put into the folder by hand (the offline instructions say
how) has no record at all: its hash is recorded on first use.

dnnlib (NVlabs/stylegan3 `dnnlib/util.py`, `open_url`) caches a download of URL as
`<cache>/downloads/<md5(URL)>_<name>`, where <cache> is $DNNLIB_CACHE_DIR, else $HOME/.cache/dnnlib
(else $USERPROFILE/.cache/dnnlib, else the temporary folder's .cache/dnnlib); it uses the file when
exactly one name starts with that md5. eqviz reads the same rule, so nothing NVIDIA's tools fetched
is fetched again.
"""
import hashlib
import json
import os
import tempfile
import urllib.parse
from pathlib import Path

from eqviz.atomic_io import atomic_output
from eqviz.cache import cache_folder, file_digest
from eqviz.downloads.catalogue import CATALOGUE

RECORD = "entry.json"
MAX_RECORD_CHARS = 1 << 16


def file_name(url: str) -> str:
    """The last path component of the URL, reduced to characters safe in any file system."""
    name = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in name).lstrip(".")
    return safe or "download"


def entry_folder(url: str) -> Path:
    return cache_folder("downloads") / hashlib.sha256(url.encode()).hexdigest()[:16]


def entry_path(url: str) -> Path:
    """Where the completed download of `url` is kept."""
    return entry_folder(url) / file_name(url)


def read_record(folder: Path) -> dict | None:
    try:
        with open(folder / RECORD, encoding="utf-8") as f:
            record = json.loads(f.read(MAX_RECORD_CHARS))  # ours, but a cache is anyone's to edit: bounded
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(path: Path, url: str, content: Path | None = None) -> dict:
    """Records `url`, the name of `path` and the size and sha256 of `content` (default: `path` itself)."""
    content = path if content is None else content
    record = {"url": url, "file": path.name, "bytes": content.stat().st_size, "sha256": file_digest(content)}
    with atomic_output(path.parent / RECORD) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1) + "\n")
    return record


def keep(partial: Path, url: str) -> Path:
    """Puts a complete download of `url` into its place: the record first, then the rename, so a file
    in place always has the record of its own bytes."""
    final = entry_path(url)
    write_record(final, url, content=partial)
    os.replace(partial, final)
    return final


def forget(folder: Path) -> None:
    """Deletes an entry: its file, then its record (partials of running downloads stay). In that
    order: a file left without a record would be taken for one put there by hand, and adopted."""
    for item in (*(p for p in folder.glob("[!.]*") if p.name != RECORD), folder / RECORD):
        item.unlink(missing_ok=True)


def cached_file(url: str) -> Path | None:
    """The completed, unchanged download of `url`, or None (a changed or truncated file is deleted)."""
    path = entry_path(url)
    if not path.is_file():
        return None
    if not (path.parent / RECORD).exists():
        write_record(path, url)  # put there by hand: adopt it
        return path
    record = sized_record(path)
    if record is None or record.get("sha256") != file_digest(path):
        forget(path.parent)
        return None
    return path


def sized_record(path: Path) -> dict | None:
    """The record beside `path` when it is readable and about this file at its present size."""
    record = read_record(path.parent)
    if record is None or record.get("file") != path.name or record.get("bytes") != path.stat().st_size:
        return None
    return record


def dnnlib_downloads() -> Path:
    """dnnlib's download folder, by its own rule."""
    if os.environ.get("DNNLIB_CACHE_DIR"):
        root = Path(os.environ["DNNLIB_CACHE_DIR"])
    elif os.environ.get("HOME"):
        root = Path(os.environ["HOME"]) / ".cache" / "dnnlib"
    elif os.environ.get("USERPROFILE"):
        root = Path(os.environ["USERPROFILE"]) / ".cache" / "dnnlib"
    else:
        root = Path(tempfile.gettempdir()) / ".cache" / "dnnlib"
    return root / "downloads"


def dnnlib_file(url: str) -> Path | None:
    """The file NVIDIA's tools downloaded from `url`, when there is exactly one (as dnnlib decides)."""
    md5 = hashlib.md5(url.encode("utf-8")).hexdigest()
    folder = dnnlib_downloads()
    try:
        matches = [p for p in folder.iterdir() if p.name.startswith(md5 + "_")]
    except OSError:
        return None
    if len(matches) != 1 or not matches[0].is_file() or matches[0].stat().st_size == 0:
        return None
    return matches[0]


def where_cached(url: str) -> str | None:
    """'eqviz' or 'dnnlib' when a download of `url` is on disk (by name and recorded size: cheap, for
    listings; the full sha256 check happens on use), else None."""
    path = entry_path(url)
    if path.is_file() and (not (path.parent / RECORD).exists() or sized_record(path) is not None):
        return "eqviz"  # (a file without a record was put there by hand: adopted on use)
    return "dnnlib" if dnnlib_file(url) is not None else None


def source_of(path) -> str:
    """What to call a local file when remembering it: a published model's name or the URL for a
    file in the downloads cache (so the name still works after the cache is cleared), else the path."""
    path = Path(path)
    folder = cache_folder("downloads")
    if path.parent.parent != folder:
        return str(path)
    record = read_record(path.parent)
    url = record.get("url") if record and record.get("file") == path.name else None
    if not isinstance(url, str):
        return str(path)
    return next((m.name for m in CATALOGUE if m.url == url), url)
