"""One HTTP(S) transfer into a file: streamed, resumed with a Range request after a cut, bounded in
size, time and redirects, and refused in one sentence when the answer is not the file.

urllib (the standard library) does the talking, so proxies come from the environment
(`https_proxy`, `http_proxy`, `no_proxy`) as every command-line tool takes them. Nothing here knows
about the cache's layout: `transfer` writes into the file it is given and leaves naming to its caller.
"""
import dataclasses
import errno
import http.client
import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from eqviz.cache import CACHE_ENV
from eqviz.downloads.sources import DownloadError
from eqviz.errors import stop_if_cancelled
from eqviz.untrusted.messages import format_size

CHUNK = 1 << 16
HTML_MARKS = (b"<!doctype html", b"<html", b"<head", b"<body")
MAX_DOWNLOAD_ENV = "EQVIZ_MAX_DOWNLOAD_GB"
DEFAULT_MAX_GB = 16.0  # NVIDIA's largest published pickles are a few hundred MB
FINAL_HTTP_STATUSES = {400, 401, 403, 404, 405, 410, 451}  # retrying cannot change these answers


def default_max_bytes() -> int:
    text = os.environ.get(MAX_DOWNLOAD_ENV)
    if not text:
        return int(DEFAULT_MAX_GB * 1e9)
    try:
        gb = float(text)
    except ValueError:
        gb = -1.0
    if not gb > 0:
        raise DownloadError(f"{MAX_DOWNLOAD_ENV}={text!r} is not a positive number of GB; unset it or give e.g. 32")
    return int(gb * 1e9)


@dataclasses.dataclass(frozen=True)
class TransferSettings:
    timeout_s: float = 30.0     # connecting, and waiting for the next bytes
    attempts: int = 5           # tries in a row that bring no new bytes before giving up
    backoff_s: float = 1.0      # wait after the first failed try, doubled after each further one
    max_bytes: int | None = None  # None: $EQVIZ_MAX_DOWNLOAD_GB, else 16 GB
    max_redirects: int = 5

    def cap(self) -> int:
        return self.max_bytes if self.max_bytes is not None else default_max_bytes()


class Unreachable(DownloadError):
    """No connection could be made (no network, a refused port, an unknown host): final, another try
    would hang or fail the same way."""


class Retry(Exception):
    """A try failed in a way another try can fix (a cut, a stall, a busy server)."""


def opener(max_redirects: int) -> urllib.request.OpenerDirector:
    class BoundedRedirects(urllib.request.HTTPRedirectHandler):
        max_redirections = max_redirects

    return urllib.request.build_opener(BoundedRedirects())  # ProxyHandler() from the environment is built in


def looks_like_html(head: bytes) -> bool:
    return head.lstrip()[:20].lower().startswith(HTML_MARKS)


@dataclasses.dataclass
class TransferState:
    total: int = 0               # the file's size once the server said it, else 0
    end_unconfirmed: bool = False  # a body without a length ended: the next request asks for what follows


def transfer(url: str, dest: Path, progress: Callable[[int, int], None] | None = None,
             cancel: Callable[[], bool] | None = None, settings: TransferSettings = TransferSettings()) -> int:
    """Downloads `url` into `dest` (created or truncated); returns its size in bytes once the file is
    known to be complete (its announced length reached, the last chunk received, or a Range request
    past its end refused), never merely because a connection closed.

    progress(done, total) after every chunk (total 0 while unknown); cancel() polled between chunks
    stops with eqviz.errors.Cancelled. `dest` is left as it is on failure: the caller removes it.
    """
    cap = settings.cap()
    dest.write_bytes(b"")
    state = TransferState()
    failures, wait = 0, settings.backoff_s
    while True:
        have = dest.stat().st_size
        try:
            if one_try(url, dest, have, state, cap, progress, cancel, settings):
                return dest.stat().st_size
            continue  # a body without a length ended: ask whether more follows
        except Retry as exc:
            if dest.stat().st_size == have:
                failures += 1
            else:  # progress was made: a fresh run of tries, from the first wait
                failures, wait = 1, settings.backoff_s
            if failures >= settings.attempts:
                raise DownloadError(f"downloading {url} failed {failures} times in a row ({exc}), at "
                                    f"{format_size(dest.stat().st_size)}; try again later") from None
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                stop_if_cancelled(cancel, "download", dest.stat().st_size, state.total)
                time.sleep(min(0.05, wait))
            wait *= 2


def one_try(url: str, dest: Path, have: int, state: TransferState, cap: int, progress, cancel, settings) -> bool:
    """One request: from byte `have` on (a Range request when have > 0), appending to `dest`; True when
    the file is then known to be complete."""
    headers = {"User-Agent": "eqviz", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = opener(settings.max_redirects).open(request, timeout=settings.timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            if range_total(exc.headers.get("Content-Range", "")) == have:  # nothing lies past our last byte
                state.total = have
                return True
            dest.write_bytes(b"")  # our partial is no prefix of what the server has now: start over
            raise Retry("the server refused to resume") from None
        if exc.code in FINAL_HTTP_STATUSES or 300 <= exc.code < 400:
            reason = "too many redirects" if 300 <= exc.code < 400 else f"HTTP {exc.code} {exc.reason}"
            raise DownloadError(f"{url} answered {reason}; check the address (or the mirror it goes through)") from None
        raise Retry(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise connection_error(url, exc.reason) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise Retry(describe(exc)) from None
    with response:
        start, total = accepted_range(url, response, have, dest, state.end_unconfirmed)
        if total:
            state.total = total
            check_size(url, total, cap, dest, start)
        # http.client raises IncompleteRead when a chunked body is cut, so its end is the file's end
        chunked = bool(getattr(response, "chunked", False))
        stream_body(url, response, dest, start, state.total, cap, progress, cancel)
    return known_complete(url, dest, have, state, chunked)


def known_complete(url: str, dest: Path, have: int, state: TransferState, chunked: bool) -> bool:
    """After a body ended: True when `dest` is the whole file; a Retry when it is short; False when
    nothing says (a body without a length ends where the connection closes, and so does a cut)."""
    size = dest.stat().st_size
    if state.total and size < state.total:
        raise Retry(f"the connection closed at {format_size(size)} of {format_size(state.total)}")
    if state.total and size > state.total:
        raise DownloadError(f"{url} sent more bytes than it announced ({size} > {state.total}); "
                            "the server is misbehaving, try again later")
    if state.total or chunked:
        return True
    if state.end_unconfirmed and size == have:
        raise unconfirmed_error(url)  # asked what follows, it neither said nor sent anything
    state.end_unconfirmed = True  # a closed connection is all we know: a cut looks the same
    return False


def range_total(content_range: str) -> int | None:
    """The TOTAL of a Content-Range 'bytes START-END/TOTAL' or 'bytes */TOTAL' (None when unknown)."""
    total_text = content_range.rpartition("/")[2].strip()
    return int(total_text) if total_text.isdigit() else None


def unconfirmed_error(url: str) -> DownloadError:
    return DownloadError(f"{url} sends no length and does not answer range requests, so a complete download "
                         "cannot be told from a cut one; download the file another way and give its path")


def accepted_range(url: str, response, have: int, dest: Path, end_unconfirmed: bool) -> tuple[int, int]:
    """(byte the body starts at, total size or 0): a 206 continues `dest`; a 200 starts it over."""
    status = response.status
    if status == 206:
        content_range = response.headers.get("Content-Range", "")  # bytes START-END/TOTAL
        try:
            start = int(content_range.split(" ", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            raise Retry(f"unreadable Content-Range {content_range[:60]!r}") from None
        if start != have:
            dest.write_bytes(b"")
            raise Retry(f"the server resumed at byte {start}, not {have}")
        return start, range_total(content_range) or 0
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else 0
    if have and end_unconfirmed and not total:
        raise unconfirmed_error(url)  # the whole file again, still without a length: no way to tell
    if have:  # the server ignored the Range header: the whole file again
        dest.write_bytes(b"")
    return 0, total


def check_size(url: str, total: int, cap: int, dest: Path, start: int) -> None:
    if total > cap:
        raise DownloadError(f"{url} is {format_size(total)}, more than the download limit of {format_size(cap)}; "
                            f"raise it with {MAX_DOWNLOAD_ENV} if you trust that file")
    free = shutil.disk_usage(dest.parent).free
    if total - start > free:
        raise DownloadError(f"{url} needs {format_size(total - start)} but {dest.parent} has {format_size(free)} free; "
                            f"free some space or set {CACHE_ENV} to a folder on a larger disk")


def stream_body(url: str, response, dest: Path, start: int, total: int, cap: int, progress, cancel) -> None:
    done = start
    if response.headers.get_content_type() == "text/html":
        raise html_error(url)
    with open(dest, "ab") as f:
        while True:
            stop_if_cancelled(cancel, "download", done, total)
            try:
                chunk = response.read1(CHUNK)  # what has arrived: a stall loses nothing already received
            except (TimeoutError, ConnectionError, http.client.HTTPException, socket.error) as exc:
                raise Retry(describe(exc)) from None
            if not chunk:
                return
            if done == 0 and looks_like_html(chunk):
                raise html_error(url)
            done += len(chunk)
            if done > cap:
                raise DownloadError(f"{url} sent more than the download limit of {format_size(cap)}; raise it with "
                                    f"{MAX_DOWNLOAD_ENV} if you trust that file")
            try:
                f.write(chunk)
                f.flush()
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise DownloadError(f"the disk holding {dest.parent} is full after {format_size(done - len(chunk))} "
                                        f"of {url}; free some space or set {CACHE_ENV} to a folder on a larger "
                                        "disk") from None
                raise DownloadError(f"cannot write the download of {url} into {dest.parent}: {exc.strerror}") from None
            if progress is not None:
                progress(done, total)


def html_error(url: str) -> DownloadError:
    return DownloadError(f"{url} returned an HTML page (a login, quota or error page), not the file; open it in a "
                         "browser to see why, or download the file yourself and give its path")


def describe(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "no data within the timeout"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection was cut"
    return str(exc) or type(exc).__name__


def connection_error(url: str, reason) -> Unreachable:
    parsed = urllib.request.urlparse(url)
    if parsed.scheme == "file":  # a mirror that is a folder
        why = getattr(reason, "strerror", None) or reason
        return Unreachable(f"cannot read {url} ({why}); check the address (or the mirror it goes through)")
    host = parsed.netloc
    if isinstance(reason, socket.gaierror):
        why = f"cannot resolve {host} (no network?)"
    elif isinstance(reason, ConnectionRefusedError):
        why = f"{host} refused the connection"
    elif isinstance(reason, (TimeoutError, socket.timeout)):
        why = f"{host} did not answer in time (no network?)"
    else:
        why = f"cannot connect to {host} ({reason})"
    return Unreachable(f"{why}; check the network or proxy settings")
