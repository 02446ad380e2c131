"""Downloads against a local HTTP server (tests/file_server.py): caching, resuming, NVIDIA's cache,
the mirror, offline use and every refusal; no test touches the internet."""
import errno
import hashlib
import json
import os

import pytest

from eqviz.downloads import store
from eqviz.downloads.catalogue import CATALOGUE, find_model
from eqviz.downloads.fetch import fetch, local_checkpoint
from eqviz.downloads.transfer import DownloadError, TransferSettings
from eqviz.errors import Cancelled
from file_server import Behaviour, FileServer, private_online_caches

FAST = TransferSettings(timeout_s=2.0, attempts=3, backoff_s=0.01)
DATA = bytes(range(256)) * 4096  # 1 MiB, every byte position distinguishable


@pytest.fixture(autouse=True)
def online(tmp_path, monkeypatch):
    private_online_caches(monkeypatch, tmp_path)


def downloads_left(tmp_path) -> list[str]:
    """Every file under the cache's downloads folder, partial or not (relative names)."""
    root = tmp_path / "cache" / "downloads"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_download_lands_in_the_cache_with_its_sha256_recorded(tmp_path):
    seen = []
    with FileServer({"/net.pkl": DATA}) as server:
        path = fetch(server.url("/net.pkl"), progress=lambda done, total: seen.append((done, total)), settings=FAST)
    assert path.read_bytes() == DATA
    assert path.name == "net.pkl" and path.parent.parent == tmp_path / "cache" / "downloads"
    record = json.loads((path.parent / "entry.json").read_text())
    assert record["sha256"] == hashlib.sha256(DATA).hexdigest() and record["bytes"] == len(DATA)
    assert seen[-1] == (len(DATA), len(DATA)) and all(b >= a for (a, _), (b, _) in zip(seen, seen[1:]))
    assert downloads_left(tmp_path) == sorted([f"{path.parent.name}/net.pkl", f"{path.parent.name}/entry.json"])


def test_a_cached_file_is_used_without_the_network(tmp_path):
    with FileServer({"/net.pkl": DATA}) as server:
        url = server.url("/net.pkl")
        first = fetch(url, settings=FAST)
    # the server is gone: a second fetch must not need it
    assert fetch(url, settings=FAST) == first


@pytest.mark.parametrize("change", ["truncated", "same size and time"])
def test_a_changed_cache_file_is_fetched_again(tmp_path, change):
    with FileServer({"/net.pkl": DATA}) as server:
        url = server.url("/net.pkl")
        path = fetch(url, settings=FAST)
        assert fetch(url, settings=FAST) == path  # a cache hit: the file was hashed and found good
        before = path.stat()
        if change == "truncated":
            path.write_bytes(DATA[: len(DATA) // 2])
        else:  # other bytes of the same length, the modification time put back
            path.write_bytes(DATA[::-1])
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        again = fetch(url, settings=FAST)
        assert again.read_bytes() == DATA
        assert len(server.requests) == 2


def test_a_bad_entry_loses_its_file_before_its_record(tmp_path, monkeypatch):
    with FileServer({"/net.pkl": DATA}) as server:
        path = fetch(server.url("/net.pkl"), settings=FAST)
    path.write_bytes(DATA[:1000])
    deleted = []
    real_unlink = type(path).unlink
    monkeypatch.setattr(type(path), "unlink", lambda self, missing_ok=False: (deleted.append(self.name),
                                                                             real_unlink(self, missing_ok)))
    assert store.cached_file(server.url("/net.pkl")) is None
    assert deleted == ["net.pkl", "entry.json"]  # stopped in between, no file is left to pass as put by hand


def test_a_cache_file_whose_record_is_unreadable_is_fetched_again(tmp_path):
    with FileServer({"/net.pkl": DATA}) as server:
        url = server.url("/net.pkl")
        path = fetch(url, settings=FAST)
        path.write_bytes(DATA[:1000])
        (path.parent / "entry.json").write_text('{"url": "')  # cut short
        assert store.where_cached(url) is None  # listed as not cached, as its next use will find it
        assert fetch(url, settings=FAST).read_bytes() == DATA
        assert store.where_cached(url) == "eqviz"
        assert len(server.requests) == 2
    assert json.loads((path.parent / "entry.json").read_text())["sha256"] == hashlib.sha256(DATA).hexdigest()


def test_a_body_without_a_length_is_kept_only_once_a_range_past_its_end_is_refused(tmp_path):
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(no_length=True)}) as server:
        path = fetch(server.url("/net.pkl"), settings=FAST)
        assert server.requests == [("/net.pkl", None), ("/net.pkl", f"bytes={len(DATA)}-")]
    assert path.read_bytes() == DATA


def test_a_body_without_a_length_cut_short_is_resumed_not_kept(tmp_path):
    cut = 300_000
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(no_length=True, cut_after=cut)}) as server:
        path = fetch(server.url("/net.pkl"), settings=FAST)
        assert server.requests == [("/net.pkl", None), ("/net.pkl", f"bytes={cut}-")]
        assert server.body_bytes_sent == len(DATA)
    assert path.read_bytes() == DATA
    assert json.loads((path.parent / "entry.json").read_text())["sha256"] == hashlib.sha256(DATA).hexdigest()


def test_a_server_with_neither_lengths_nor_ranges_is_refused_rather_than_trusted(tmp_path):
    behaviour = Behaviour(no_length=True, ignore_range=True, cut_after=300_000)
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": behaviour}) as server:
        with pytest.raises(DownloadError, match="cannot be told from a cut one") as info:
            fetch(server.url("/net.pkl"), settings=FAST)
    assert "\n" not in str(info.value) and server.url("/net.pkl") in str(info.value)
    assert downloads_left(tmp_path) == []


def test_a_chunked_body_is_complete_at_its_last_chunk_and_resumed_when_cut(tmp_path):
    with FileServer({"/whole.pkl": DATA, "/cut.pkl": DATA},
                    {"/whole.pkl": Behaviour(chunked=True), "/cut.pkl": Behaviour(chunked=True, cut_after=300_000)}) as server:
        assert fetch(server.url("/whole.pkl"), settings=FAST).read_bytes() == DATA
        assert fetch(server.url("/cut.pkl"), settings=FAST).read_bytes() == DATA
        assert server.requests == [("/whole.pkl", None), ("/cut.pkl", None), ("/cut.pkl", "bytes=300000-")]


def test_a_cut_transfer_resumes_with_a_range_request_and_sends_each_byte_once(tmp_path):
    cut = 300_000
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(cut_after=cut)}) as server:
        path = fetch(server.url("/net.pkl"), settings=FAST)
        assert path.read_bytes() == DATA
        assert server.requests == [("/net.pkl", None), ("/net.pkl", f"bytes={cut}-")]
        assert server.body_bytes_sent == len(DATA)


def test_a_stalled_transfer_times_out_and_resumes(tmp_path):
    cut = 100_000
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(cut_after=cut, stall_s=4.0)}) as server:
        path = fetch(server.url("/net.pkl"), settings=TransferSettings(timeout_s=1.0, attempts=3, backoff_s=0.01))
        assert path.read_bytes() == DATA
        assert server.requests[-1] == ("/net.pkl", f"bytes={cut}-")


def test_a_server_that_ignores_range_restarts_the_file_cleanly(tmp_path):
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(cut_after=200_000, ignore_range=True)}) as server:
        assert fetch(server.url("/net.pkl"), settings=FAST).read_bytes() == DATA


@pytest.mark.parametrize("behaviour, words", [
    (Behaviour(status=404), "HTTP 404"),
    (Behaviour(html=True), "HTML page"),
])
def test_a_refused_download_is_one_sentence_and_leaves_nothing(tmp_path, behaviour, words):
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": behaviour}) as server:
        with pytest.raises(DownloadError, match=words) as info:
            fetch(server.url("/net.pkl"), settings=FAST)
    assert "\n" not in str(info.value) and server.url("/net.pkl") in str(info.value)
    assert downloads_left(tmp_path) == []


def test_redirects_are_followed_but_bounded(tmp_path):
    loops = {f"/hop{i}": Behaviour(redirect_to=f"/hop{i + 1}") for i in range(10)}
    with FileServer({"/net.pkl": DATA}, {"/moved.pkl": Behaviour(redirect_to="/net.pkl"), **loops}) as server:
        assert fetch(server.url("/moved.pkl"), settings=FAST).read_bytes() == DATA
        with pytest.raises(DownloadError, match="too many redirects"):
            fetch(server.url("/hop0"), settings=FAST)
        assert len([p for p, _ in server.requests if p.startswith("/hop")]) == FAST.max_redirects + 1
    assert [name for name in downloads_left(tmp_path) if "hop" in name] == []


def test_a_refused_connection_is_one_sentence_at_once(tmp_path):
    with FileServer({}) as server:
        url = server.url("/net.pkl")
    with pytest.raises(DownloadError, match="refused the connection") as info:
        fetch(url, settings=FAST)
    assert str(tmp_path / "cache" / "downloads") in str(info.value)
    assert downloads_left(tmp_path) == []


def test_a_transfer_cut_on_every_try_gives_up_and_leaves_nothing(tmp_path):
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(cut_after=0, every_time=True)}) as server:
        with pytest.raises(DownloadError, match="failed 3 times"):
            fetch(server.url("/net.pkl"), settings=FAST)
        assert len(server.requests) == 3
    assert downloads_left(tmp_path) == []


def test_failed_tries_wait_longer_each_time(tmp_path):
    settings = TransferSettings(timeout_s=2.0, attempts=4, backoff_s=0.2)
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(cut_after=0, every_time=True)}) as server:
        with pytest.raises(DownloadError, match="failed 4 times"):
            fetch(server.url("/net.pkl"), settings=settings)
        times = server.request_times
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) == 3 and all(gap >= 0.2 * 2**i for i, gap in enumerate(gaps)), gaps


def test_a_server_that_never_answers_times_out(tmp_path):
    import socket
    import time

    with socket.socket() as silent:  # takes connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/net.pkl"
        start = time.monotonic()
        with pytest.raises(DownloadError, match="failed 2 times in a row \\(no data within the timeout\\)"):
            fetch(url, settings=TransferSettings(timeout_s=0.5, attempts=2, backoff_s=0.01))
        assert time.monotonic() - start < 5
    assert downloads_left(tmp_path) == []


def test_a_busy_server_is_asked_again(tmp_path):
    with FileServer({"/net.pkl": DATA}, {"/net.pkl": Behaviour(busy_first=2)}) as server:
        assert fetch(server.url("/net.pkl"), settings=FAST).read_bytes() == DATA
        assert len(server.requests) == 3


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path):
    received = []
    with FileServer({"/net.pkl": DATA}) as server:
        with pytest.raises(DownloadError, match="download limit"):
            fetch(server.url("/net.pkl"), progress=lambda done, total: received.append(done),
                  settings=TransferSettings(max_bytes=1000, backoff_s=0.01))
    assert received == []  # refused on the Content-Length, before any byte was kept
    assert downloads_left(tmp_path) == []


def test_cancel_stops_the_download_and_leaves_nothing(tmp_path):
    with FileServer({"/net.pkl": DATA}) as server:
        with pytest.raises(Cancelled):
            fetch(server.url("/net.pkl"), cancel=lambda: True, settings=FAST)
    assert downloads_left(tmp_path) == []


def test_nvidias_dnnlib_cache_is_used_without_the_network(tmp_path):
    url = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/stylegan3-t-ffhqu-256x256.pkl"
    dnnlib = tmp_path / "dnnlib" / "downloads"
    dnnlib.mkdir(parents=True)
    cached = dnnlib / (hashlib.md5(url.encode()).hexdigest() + "_stylegan3-t-ffhqu-256x256.pkl")
    cached.write_bytes(DATA)
    assert local_checkpoint("stylegan3-t-ffhqu-256x256") == cached
    assert fetch(url) == cached
    assert downloads_left(tmp_path) == []


def test_dnnlib_files_are_used_only_when_exactly_one_carries_the_urls_md5(tmp_path):
    dnnlib = tmp_path / "dnnlib" / "downloads"
    dnnlib.mkdir(parents=True)
    with FileServer({"/a.pkl": DATA, "/b.pkl": DATA}) as server:
        url_a, url_b = server.url("/a.pkl"), server.url("/b.pkl")
        md5_a = hashlib.md5(url_a.encode()).hexdigest()
        for name in (f"{md5_a}_a.pkl", f"{md5_a}_copy.pkl"):  # two candidates: dnnlib would not choose either
            (dnnlib / name).write_bytes(b"theirs")
        (dnnlib / (hashlib.md5(b"http://elsewhere/b.pkl").hexdigest() + "_b.pkl")).write_bytes(b"theirs")
        assert fetch(url_a, settings=FAST).read_bytes() == DATA
        assert fetch(url_b, settings=FAST).read_bytes() == DATA  # the only b.pkl there is another URL's
        assert [p for p, _ in server.requests] == ["/a.pkl", "/b.pkl"]
    (dnnlib / f"{md5_a}_copy.pkl").unlink()
    assert store.dnnlib_file(url_a) == dnnlib / f"{md5_a}_a.pkl"


def test_dnnlib_cache_under_home_when_its_variable_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("DNNLIB_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store.dnnlib_downloads() == tmp_path / "home" / ".cache" / "dnnlib" / "downloads"


def test_published_names_download_through_the_mirror(tmp_path, monkeypatch):
    model = find_model("stylegan3-r-afhqv2-512x512")
    assert model.url.endswith("/stylegan3/versions/1/files/stylegan3-r-afhqv2-512x512.pkl")
    with FileServer({"/mirror/stylegan3-r-afhqv2-512x512.pkl": DATA}) as server:
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/mirror/"))
        path = local_checkpoint("stylegan3-r-afhqv2-512x512.pkl")
        assert server.requests == [("/mirror/stylegan3-r-afhqv2-512x512.pkl", None)]
    assert path.read_bytes() == DATA and path.name == "stylegan3-r-afhqv2-512x512.pkl"
    monkeypatch.delenv("EQVIZ_MIRROR")
    assert local_checkpoint("stylegan3-r-afhqv2-512x512") == path  # keyed by NVIDIA's URL, not the mirror's


def test_a_mirror_may_be_a_folder(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "stylegan2-cifar10-32x32.pkl").write_bytes(DATA)
    monkeypatch.setenv("EQVIZ_MIRROR", mirror.as_uri() + "/")
    path = local_checkpoint("stylegan2-cifar10-32x32")
    assert path.read_bytes() == DATA and path.parent.parent == tmp_path / "cache" / "downloads"
    with pytest.raises(DownloadError) as info:
        local_checkpoint("stylegan2-ffhq-1024x1024")
    message = str(info.value)
    assert message.startswith(f"cannot read {mirror.as_uri()}/stylegan2-ffhq-1024x1024.pkl (No such file")
    assert "network" not in message and "\n" not in message


def test_offline_names_the_url_and_the_folder_and_never_connects(tmp_path, monkeypatch):
    monkeypatch.setenv("EQVIZ_OFFLINE", "1")
    with FileServer({"/net.pkl": DATA}) as server:
        with pytest.raises(DownloadError) as info:
            fetch(server.url("/net.pkl"), settings=FAST)
        assert server.requests == []
    message = str(info.value)
    folder = store.entry_folder(server.url("/net.pkl"))
    assert server.url("/net.pkl") in message and str(folder) in message and "net.pkl" in message
    folder.mkdir(parents=True)
    (folder / "net.pkl").write_bytes(DATA)  # put there by hand, as the message says
    assert fetch(server.url("/net.pkl")).read_bytes() == DATA


def test_a_file_whose_hash_breaks_its_names_promise_is_deleted_and_refused(tmp_path):
    digest = hashlib.sha256(DATA).hexdigest()
    with FileServer({"/w-1234abcd.pth": DATA, f"/w-{digest[:8]}.pth": DATA}) as server:
        with pytest.raises(DownloadError, match="not the 1234abcd") as info:
            fetch(server.url("/w-1234abcd.pth"), sha256_prefix="1234abcd", settings=FAST)
        assert downloads_left(tmp_path) == []
        message = str(info.value)
        assert message.startswith(f"the download of {server.url('/w-1234abcd.pth')} has sha256 {digest[:12]}")
        assert ".partial" not in message and "deleted" in message
        good = fetch(server.url(f"/w-{digest[:8]}.pth"), sha256_prefix=digest[:8], settings=FAST)
    assert good.read_bytes() == DATA


def test_file_urls_and_local_paths_are_used_in_place(tmp_path, monkeypatch):
    local = tmp_path / "mine.pkl"
    local.write_bytes(DATA)
    assert fetch(local.as_uri()) == local
    assert local_checkpoint(str(local)) == local
    assert local_checkpoint(local) == local
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stylegan2-cifar10-32x32").write_bytes(b"mine")  # a local file wins over a published name
    assert local_checkpoint("stylegan2-cifar10-32x32").read_bytes() == b"mine"


def test_the_catalogue_has_nvidias_published_models():
    names = {m.name for m in CATALOGUE}
    assert len(names) == len(CATALOGUE)
    for name in ("stylegan3-t-ffhq-1024x1024", "stylegan3-r-metfacesu-1024x1024", "stylegan2-ffhqu-256x256",
                 "stylegan2-cifar10-32x32", "stylegan2-ada-afhqdog-512x512"):
        assert name in names
    for model in CATALOGUE:
        assert model.url.startswith("https://") and model.url.endswith(".pkl")
        assert f"{model.resolution}x{model.resolution}" in model.name


def test_fid_fetches_the_inception_weights_and_refuses_a_file_whose_hash_breaks_the_name(tmp_path, monkeypatch):
    from eqviz.metrics.fid.inception import inception_path

    monkeypatch.delenv("EQVIZ_INCEPTION", raising=False)
    name = "weights-inception-2015-12-05-6726825d.pth"
    with FileServer({f"/m/{name}": DATA}) as server:
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/m/"))
        with pytest.raises(DownloadError, match="not the 6726825d") as info:
            inception_path(None)
        assert server.requests == [(f"/m/{name}", None)]
    assert "deleted" in str(info.value) and downloads_left(tmp_path) == []
    explicit = tmp_path / "mine.pth"
    assert inception_path(explicit) == explicit  # an explicit file is used as before, nothing fetched


def test_lpips_fetches_both_weight_files_when_none_is_given(tmp_path, monkeypatch):
    from eqviz.downloads import weights
    from eqviz.projection.lpips import load_lpips

    served = {"/m/vgg16-397923af.pth": DATA, "/m/vgg.pth": DATA}
    with FileServer(served) as server:
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/m/"))
        with pytest.raises(DownloadError, match="not the 397923af"):
            load_lpips()
        assert [p for p, _ in server.requests] == ["/m/vgg16-397923af.pth"]


# sha256 of lpips/weights/v0.1/vgg.pth inside lpips-0.1.4-py3-none-any.whl from PyPI (computed from the
# wheel on 2026-12-07, outside this project's environment): the file eqviz's LPIPS fetches by default.
LPIPS_0_1_4_VGG_LIN_SHA256 = "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"


def test_the_lpips_linear_layers_are_pinned_to_the_lpips_release(tmp_path, monkeypatch):
    from eqviz.downloads import weights

    assert weights.promised_sha256(weights.LPIPS_LIN_URL) == LPIPS_0_1_4_VGG_LIN_SHA256
    with FileServer({"/m/vgg.pth": DATA}) as server:  # a file of that name, not the release's bytes
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/m/"))
        with pytest.raises(DownloadError, match=f"not the {LPIPS_0_1_4_VGG_LIN_SHA256}"):
            weights.fetch_weights(weights.LPIPS_LIN_URL)
    assert downloads_left(tmp_path) == []


def test_offline_weights_name_the_url_and_the_folder(tmp_path, monkeypatch):
    from eqviz.downloads.weights import INCEPTION_URL
    from eqviz.metrics.fid.inception import inception_path

    monkeypatch.delenv("EQVIZ_INCEPTION", raising=False)
    monkeypatch.setenv("EQVIZ_OFFLINE", "1")
    with pytest.raises(DownloadError) as info:
        inception_path(None)
    assert INCEPTION_URL in str(info.value) and str(store.entry_folder(INCEPTION_URL)) in str(info.value)


def test_a_disk_too_full_for_the_file_is_one_sentence_and_leaves_nothing(tmp_path, monkeypatch):
    from collections import namedtuple

    from eqviz.downloads import transfer

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(transfer.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with FileServer({"/net.pkl": DATA}) as server:
        with pytest.raises(DownloadError, match="1000.00B free|free some space") as info:
            fetch(server.url("/net.pkl"), settings=FAST)
    assert "\n" not in str(info.value) and "EQVIZ_CACHE" in str(info.value) and "eqviz " not in str(info.value)
    assert downloads_left(tmp_path) == []


def test_a_disk_that_fills_during_the_download_is_one_sentence_and_leaves_nothing(tmp_path, monkeypatch):
    from eqviz.downloads import transfer

    written = []

    class FillingFile:
        """The partial file, on a disk with room for 200 kB."""

        def __init__(self, f):
            self.f = f

        def write(self, data):
            if sum(written) + len(data) > 200_000:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written.append(len(data))
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(transfer, "open", lambda *args, **kw: FillingFile(open(*args, **kw)), raising=False)
    with FileServer({"/net.pkl": DATA}) as server:
        with pytest.raises(DownloadError, match="is full after") as info:
            fetch(server.url("/net.pkl"), settings=FAST)
        assert len(server.requests) == 1  # a full disk is not retried
    message = str(info.value)
    assert sum(written) > 0 and "\n" not in message and server.url("/net.pkl") in message
    assert "EQVIZ_CACHE" in message and "eqviz " not in message and "--" not in message
    assert downloads_left(tmp_path) == []


def test_the_proxy_from_the_environment_is_used(tmp_path, monkeypatch):
    # The local server plays the proxy: it is asked for the absolute URL, and example.invalid is never resolved.
    url = "http://example.invalid/models/net.pkl"
    with FileServer({url: DATA}) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url(""))
        assert fetch(url, settings=FAST).read_bytes() == DATA
        assert proxy.requests == [(url, None)]


def test_https_goes_through_the_https_proxy_and_no_proxy_is_respected(tmp_path, monkeypatch):
    with FileServer({"/net.pkl": DATA}) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url(""))
        with pytest.raises(DownloadError) as info:
            fetch("https://example.invalid/models/net.pkl", settings=FAST)
        assert proxy.requests == [("example.invalid:443", None)]  # a tunnel asked of the proxy, not a DNS lookup
        assert "\n" not in str(info.value)
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a proxy nobody runs ...
        monkeypatch.setenv("no_proxy", "127.0.0.1")  # ... and not used for this host
        assert fetch(proxy.url("/net.pkl"), settings=FAST).read_bytes() == DATA


def test_the_size_cap_is_a_setting(tmp_path, monkeypatch):
    with FileServer({"/net.pkl": DATA}) as server:
        monkeypatch.setenv("EQVIZ_MAX_DOWNLOAD_GB", "0.0005")  # 0.5 MiB < 1 MiB
        with pytest.raises(DownloadError, match="EQVIZ_MAX_DOWNLOAD_GB"):
            fetch(server.url("/net.pkl"), settings=FAST)
        monkeypatch.setenv("EQVIZ_MAX_DOWNLOAD_GB", "lots")
        with pytest.raises(DownloadError, match="not a positive number"):
            fetch(server.url("/net.pkl"), settings=FAST)
        monkeypatch.setenv("EQVIZ_MAX_DOWNLOAD_GB", "0.002")
        assert fetch(server.url("/net.pkl"), settings=FAST).read_bytes() == DATA


def test_sizes_are_decimal_units_everywhere_a_download_shows_them():
    from eqviz.app.download import progress_line

    assert progress_line(2_500_000, 10_000_000, 2.0) == "2.5 MB of 10.0 MB, 1.2 MB/s, 6 s left"
    assert progress_line(1536, 0, 0.0) == "1.5 kB"
