"""Checkpoints downloaded in the real window (Xvfb in CI): a URL typed into the path box shows bytes,
rate and time left with a Cancel while the UI stays live; a cancel or a failure keeps the current
model; a published model picked from the list downloads and becomes the model. The files come from
a local server (tests/file_server.py), never the internet."""
import dearpygui.dearpygui as dpg
import pytest

from app_driver import NEEDS_DISPLAY, fire, running_app, step_until
from file_server import Behaviour, FileServer, private_online_caches

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY]

SLOW_DATA = bytes(range(256)) * 8192  # 2 MiB at 256 KiB/s: eight seconds unless cancelled


@pytest.fixture(scope="module")
def app(reference_dir, tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("downloads")
    private_online_caches(monkeypatch, root)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))  # a private recent list
    with running_app(reference_dir / "pkl" / "sg2_64.pkl", width=1280, height=840) as app:
        yield app
    monkeypatch.undo()


def published_row(name: str) -> int:
    """The row of the published-models list that opens `name`."""
    rows = dpg.get_item_children("published_models_list", 1)
    return next(row for row in rows if dpg.get_item_user_data(row) == name)


def downloaded_files(tmp_root) -> list:
    return [p for p in tmp_root.rglob("*") if p.is_file()] if tmp_root.exists() else []


def test_a_url_shows_progress_and_cancel_keeps_the_model(app, tmp_path):
    from eqviz.cache import cache_folder

    before = app.model.label
    with FileServer({"/slow.pkl": SLOW_DATA}, {"/slow.pkl": Behaviour(bytes_per_s=256 * 1024)}) as server:
        fire("checkpoint_path", server.url("/slow.pkl"))
        step_until(app, lambda: app.download is not None and app.download.done > 0, timeout=30)
        frames = app.frame_count
        step_until(app, lambda: app.download is not None and app.download.done >= 300_000, timeout=30)
        assert app.frame_count > frames  # the window kept drawing while bytes arrived
        assert dpg.is_item_shown("checkpoint_download")
        overlay = dpg.get_item_configuration("checkpoint_download_bar")["overlay"]
        assert " of 2.1 MB" in overlay and "/s" in overlay and "s left" in overlay, overlay
        assert 0 < dpg.get_value("checkpoint_download_bar") < 1
        fire("checkpoint_download_cancel")
        step_until(app, lambda: app.download is None and app.loading is None, timeout=30)
    assert "cancelled" in app.status[0] and not app.status[1]
    assert app.model.label == before
    assert not dpg.is_item_shown("checkpoint_download")
    assert downloaded_files(cache_folder("downloads")) == []


def test_a_failed_download_keeps_the_model_and_says_why(app):
    before = app.model.label
    with FileServer({"/login.pkl": b""}, {"/login.pkl": Behaviour(html=True)}) as server:
        fire("checkpoint_path", server.url("/login.pkl"))
        step_until(app, lambda: app.download is None and app.loading is None, timeout=30)
    text, error = app.status
    assert error and "HTML page" in text and f"still showing {before}" in text
    assert app.model.label == before


def test_a_published_model_downloads_on_click_and_becomes_the_model(app, reference_dir, monkeypatch):
    from eqviz.app.recent import load_recent

    data = (reference_dir / "pkl" / "sg3t_64.pkl").read_bytes()
    with FileServer({"/mirror/stylegan3-t-ffhqu-256x256.pkl": data}) as server:
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/mirror/"))
        fire("checkpoint_published_button")
        assert dpg.is_item_shown("published_models_window")
        row = published_row("stylegan3-t-ffhqu-256x256")
        assert "(downloaded)" not in dpg.get_item_label(row)
        dpg.get_item_callback(row)(row, True, dpg.get_item_user_data(row))  # a click on the row
        step_until(app, lambda: app.model.kind == "stylegan3-t" and app.loading is None and app.idle, timeout=60)
    assert not dpg.is_item_shown("published_models_window")
    assert app.model.label == "stylegan3-t-ffhqu-256x256.pkl" and app.last_result is not None
    assert load_recent()[0] == "stylegan3-t-ffhqu-256x256"  # remembered by name, not by its cache path
    assert dpg.get_value("checkpoint_path") == "stylegan3-t-ffhqu-256x256"
    assert app.state.session.checkpoint == "stylegan3-t-ffhqu-256x256"
    fire("checkpoint_published_button")
    assert "(downloaded)" in dpg.get_item_label(published_row("stylegan3-t-ffhqu-256x256"))
    assert len(dpg.get_item_children("published_models_list", 1)) == 34  # every model, listed once
    dpg.hide_item("published_models_window")


def test_opening_another_checkpoint_during_a_download_wins(app, reference_dir):
    with FileServer({"/slow.pkl": SLOW_DATA}, {"/slow.pkl": Behaviour(bytes_per_s=256 * 1024)}) as server:
        fire("checkpoint_path", server.url("/slow.pkl"))
        step_until(app, lambda: app.download is not None and app.download.done > 0, timeout=30)
        handle = app.download
        fire("checkpoint_path", str(reference_dir / "pkl" / "sg2_64.pkl"))
        step_until(app, lambda: app.loading is None and app.model.label == "sg2_64.pkl" and not app.jobs.active,
                   timeout=60)
    assert handle.cancel_requested and app.download is None
    assert app.model.label == "sg2_64.pkl" and not app.status[1]
    assert f"the download of {server.url('/slow.pkl')} was cancelled" in app.status[0], app.status[0]


def test_a_file_url_opens_the_file_it_names_in_place(app, reference_dir):
    from eqviz.cache import cache_folder

    local = reference_dir / "pkl" / "sg3t_64.pkl"
    fire("checkpoint_path", local.as_uri())
    assert app.download is None  # nothing to fetch
    step_until(app, lambda: app.loading is None and app.model.label == "sg3t_64.pkl" and app.idle, timeout=60)
    assert app.model.kind == "stylegan3-t" and not app.status[1]
    assert not [p for p in downloaded_files(cache_folder("downloads")) if p.name == "sg3t_64.pkl"]


def test_a_url_typed_into_the_open_dialog_is_taken_as_it_is():
    from eqviz.app.widgets import chosen_path

    typed = "https://example.org/models/net.pkl"
    assert chosen_path({"file_name": typed, "file_path_name": "/work/https:/example.org/models/net.pkl"}) == typed
    assert chosen_path({"file_name": "net.pkl", "file_path_name": "/work/net.pkl"}) == "/work/net.pkl"
