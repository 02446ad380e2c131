"""A local HTTP server on a thread, for download tests (no test touches the internet).

It serves in-memory files with Range support (416 past the end) and can misbehave on demand, per
path: cut a transfer after N bytes (once), stall before sending more, answer 404, serve an HTML page,
send no length (the body ends when the connection closes) or send the body in chunks. It records every request's path and Range header and counts the body bytes it sent.
"""
import dataclasses
import http.server
import threading
import time


@dataclasses.dataclass
class Behaviour:
    cut_after: int | None = None   # close the connection after this many body bytes (first request only)
    stall_s: float = 0.0           # with cut_after: sleep this long there instead of closing
    every_time: bool = False       # with cut_after: cut every request, not only the first
    status: int = 200              # 404 etc. answered instead of the file
    html: bool = False             # answer with an HTML page instead of the file
    ignore_range: bool = False     # always send the whole file with 200
    content_type: str = "application/octet-stream"
    bytes_per_s: int | None = None  # send slowly (in 64 KiB pieces), to watch a download progress
    redirect_to: str | None = None  # answer 302 to this path
    no_length: bool = False        # no Content-Length: the body ends where the connection closes
    chunked: bool = False          # Transfer-Encoding: chunked (a cut leaves the last chunk missing)
    busy_first: int = 0            # answer 503 (busy) to this many requests first


class FileServer:
    """`with FileServer({"/a.pkl": data}) as server: server.url("/a.pkl")`."""

    def __init__(self, files: dict[str, bytes], behaviours: dict[str, Behaviour] | None = None):
        self.files = dict(files)
        self.behaviours = dict(behaviours or {})
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.request_times: list[float] = []  # time.monotonic() of each request, in order
        self.body_bytes_sent = 0
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.answer(self)

            do_CONNECT = do_GET  # as a proxy asked for a tunnel: recorded, then answered 404 (no tunnels here)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, handler) -> None:
        path = handler.path.split("?", 1)[0]
        range_header = handler.headers.get("Range")
        with self.lock:
            self.requests.append((path, range_header))
            self.request_times.append(time.monotonic())
            asked = sum(1 for p, _ in self.requests if p == path)
        first = asked == 1
        how = self.behaviours.get(path, Behaviour())
        if asked <= how.busy_first:
            return self.send(handler, 503, b"busy", "text/plain")
        if how.redirect_to is not None:
            handler.send_response(302)
            handler.send_header("Location", how.redirect_to)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if how.html:
            return self.send(handler, 200, b"<!DOCTYPE html><html><body>Please log in</body></html>", "text/html")
        if path not in self.files or how.status != 200:
            return self.send(handler, how.status if how.status != 200 else 404, b"not found", "text/plain")
        data = self.files[path]
        start = 0
        if range_header and not how.ignore_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                handler.send_response(416)
                handler.send_header("Content-Range", f"bytes */{len(data)}")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
        handler.send_response(206 if start else 200)
        handler.send_header("Content-Type", how.content_type)
        if how.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        elif how.no_length:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        else:
            handler.send_header("Content-Length", str(len(data) - start))
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        body = data[start:]
        cut = how.cut_after is not None and (first or how.every_time)
        if how.chunked:
            sent = body[:how.cut_after] if cut else body
            for piece in range(0, len(sent), 1 << 16):
                part = sent[piece:piece + (1 << 16)]
                self.write(handler, b"%x\r\n" % len(part) + part + b"\r\n", counted=len(part))
            if cut:
                handler.close_connection = True
            else:
                self.write(handler, b"0\r\n\r\n", counted=0)
            return
        if cut:
            self.write(handler, body[:how.cut_after])
            if how.stall_s:
                time.sleep(how.stall_s)
            handler.close_connection = True
            return
        if how.bytes_per_s:
            for start in range(0, len(body), 1 << 16):
                if not self.write(handler, body[start:start + (1 << 16)]):
                    return
                time.sleep((1 << 16) / how.bytes_per_s)
            return
        self.write(handler, body)

    def write(self, handler, data: bytes, counted: int | None = None) -> bool:
        """Sends `data`, of which `counted` bytes (default: all) are the file's (the rest is framing)."""
        counted = len(data) if counted is None else counted
        with self.lock:  # counted before the client can have it, so a test that just received it sees the count
            self.body_bytes_sent += counted
        try:
            handler.wfile.write(data)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with self.lock:
                self.body_bytes_sent -= counted
            return False
        return True

    def send(self, handler, status: int, body: bytes, content_type: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def private_online_caches(monkeypatch, root) -> None:
    """Downloads on for this test (conftest sets EQVIZ_OFFLINE), into caches under `root`, straight to
    the local server (no proxy, no mirror)."""
    monkeypatch.setenv("EQVIZ_CACHE", str(root / "cache"))
    monkeypatch.setenv("DNNLIB_CACHE_DIR", str(root / "dnnlib"))
    monkeypatch.delenv("EQVIZ_OFFLINE", raising=False)
    monkeypatch.delenv("EQVIZ_MIRROR", raising=False)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
