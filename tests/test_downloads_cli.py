"""Commands given URLs and published names (`eqviz info URL`, `eqviz info NAME` through EQVIZ_MIRROR),
`eqviz models` and `eqviz cache`; the files come from a local server (tests/file_server.py)."""
import io
import json

import pytest

from eqviz.cli.main import main
from file_server import Behaviour, FileServer, private_online_caches


@pytest.fixture
def online(tmp_path, monkeypatch):
    private_online_caches(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture
def sg3t_bytes(reference_dir) -> bytes:
    return (reference_dir / "pkl" / "sg3t_64.pkl").read_bytes()


def one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "downloading" not in line]
    assert len(err) == 1, err
    return err[0]


def test_info_on_a_url_downloads_once_then_works_offline(online, sg3t_bytes, capsys, monkeypatch):
    with FileServer({"/nets/sg3t_64.pkl": sg3t_bytes}) as server:
        url = server.url("/nets/sg3t_64.pkl")
        assert main(["info", url, "--json"]) == 0
        captured = capsys.readouterr()
        assert json.loads(captured.out)["kind"] == "stylegan3-t" and "downloading sg3t_64.pkl" in captured.err
    monkeypatch.setenv("EQVIZ_OFFLINE", "1")
    assert main(["info", url, "--json"]) == 0  # the server is gone: the cache serves it
    assert json.loads(capsys.readouterr().out)["img_resolution"] == 64


def test_file_urls_work_wherever_a_path_does(online, reference_dir, capsys):
    local = reference_dir / "pkl" / "sg3t_64.pkl"
    for url in (local.as_uri(), "file://localhost" + local.as_uri().removeprefix("file://")):
        assert main(["info", url, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["kind"] == "stylegan3-t"
    assert main(["render", local.as_uri(), "--seeds", "0", "--outdir", str(online / "out")]) == 0
    assert (online / "out" / "seed0000.png").is_file()
    assert main(["info", "file://elsewhere" + str(local)]) == 2
    assert "another host" in one_error_line(capsys)
    assert not (online / "cache" / "downloads").exists()  # a local file is used in place, never copied


def test_render_and_convert_take_a_url_and_share_one_download(online, sg3t_bytes, capsys):
    with FileServer({"/nets/sg3t_64.pkl": sg3t_bytes}) as server:
        url = server.url("/nets/sg3t_64.pkl")
        assert main(["render", url, "--seeds", "0", "--outdir", str(online / "out")]) == 0
        assert main(["convert", url, str(online / "sg3t_64.safetensors")]) == 0
        assert server.requests == [("/nets/sg3t_64.pkl", None)]
    assert (online / "out" / "seed0000.png").is_file() and (online / "sg3t_64.safetensors").is_file()


def test_a_published_name_comes_through_the_mirror(online, sg3t_bytes, capsys, monkeypatch):
    with FileServer({"/mirror/stylegan3-t-ffhqu-256x256.pkl": sg3t_bytes}) as server:
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/mirror/"))
        assert main(["info", "stylegan3-t-ffhqu-256x256", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["kind"] == "stylegan3-t"
        assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["stylegan3-t-ffhqu-256x256"]["cached"] == "eqviz"
    assert listed["stylegan3-r-ffhqu-256x256"]["cached"] is None
    assert listed["stylegan3-t-ffhqu-256x256"]["url"] == server.url("/mirror/stylegan3-t-ffhqu-256x256.pkl")


def test_a_downloaded_file_goes_through_the_same_gates_as_a_local_one(online, capsys):
    with FileServer({"/junk.pkl": b"\x80\x04\x95" + b"\x00" * 100}) as server:
        assert main(["info", server.url("/junk.pkl")]) == 2
    assert "junk.pkl" in one_error_line(capsys)


@pytest.mark.parametrize("behaviour, words", [(Behaviour(status=404), "HTTP 404"), (Behaviour(html=True), "HTML page")])
def test_download_errors_are_one_line_and_exit_2(online, capsys, behaviour, words):
    with FileServer({"/net.pkl": b"x" * 1000}, {"/net.pkl": behaviour}) as server:
        assert main(["info", server.url("/net.pkl")]) == 2
    assert words in one_error_line(capsys)
    assert not list((online / "cache" / "downloads").rglob("*.pkl"))


COMMANDS_WITH_A_CHECKPOINT = {  # each command's arguments besides the checkpoint (files made in the test)
    "info": [], "convert": ["{tmp}/out.safetensors"], "render": ["--seeds", "0", "--outdir", "{tmp}/out"],
    "metrics": ["--num-samples", "4"], "fid": ["{tmp}/images"], "compare": ["--out", "{tmp}/report"],
    "video": ["--out", "{tmp}/v.mp4"], "sticking": ["--seeds", "0", "--outdir", "{tmp}/sticking"],
    "directions": ["--out", "{tmp}/new.npz"], "sheet": ["--directions", "{tmp}/d.npz", "--out", "{tmp}/sheet.png"],
    "project": ["--target", "{tmp}/target.png", "--out", "{tmp}/projection"],
}


@pytest.mark.parametrize("command", COMMANDS_WITH_A_CHECKPOINT)
def test_every_command_takes_its_checkpoint_as_a_url(online, capsys, command):
    from PIL import Image

    (online / "images").mkdir()
    Image.new("RGB", (64, 64)).save(online / "target.png")
    (online / "d.npz").write_bytes(b"")
    rest = [arg.format(tmp=online) for arg in COMMANDS_WITH_A_CHECKPOINT[command]]
    with FileServer({}) as server:  # every name answers 404: the command got as far as downloading
        assert main([command, server.url("/net.pkl"), *rest]) == 2
        assert [path for path, _ in server.requests] == ["/net.pkl"]
    assert "HTTP 404" in one_error_line(capsys)


def test_offline_a_missing_model_names_the_url_and_folder(online, capsys, monkeypatch):
    monkeypatch.setenv("EQVIZ_OFFLINE", "1")
    assert main(["info", "stylegan2-cifar10-32x32"]) == 2
    line = one_error_line(capsys)
    assert "stylegan2-cifar10-32x32.pkl" in line and str(online / "cache" / "downloads") in line


def test_cache_info_counts_and_clear_empties_a_part(online, capsys):
    fid = online / "cache" / "fid"
    fid.mkdir(parents=True)
    (fid / "a.npz").write_bytes(b"x" * 3000)
    other = online / "cache" / "mine.txt"  # not ours: never deleted
    other.write_text("keep")
    nvidia = online / "dnnlib" / "downloads"
    nvidia.mkdir(parents=True)
    (nvidia / "0123_net.pkl").write_bytes(b"x" * 10)
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert str(online / "cache") in out and [line for line in out.splitlines() if line.split()[:2] == ["fid", "1"]]
    assert f"{nvidia} (1 files" in out
    assert main(["cache", "--clear", "fid"]) == 0
    assert "cleared fid: 1 files" in capsys.readouterr().out
    assert not fid.exists() and other.read_text() == "keep"
    assert main(["cache", "--clear"]) == 0
    assert (nvidia / "0123_net.pkl").exists()  # NVIDIA's cache is read, never cleared
    with pytest.raises(SystemExit) as info:
        main(["cache", "--clear", "bogus"])
    assert info.value.code == 2


def test_fid_without_weights_downloads_them_with_progress_and_refuses_a_wrong_file(online, capsys, monkeypatch):
    monkeypatch.delenv("EQVIZ_INCEPTION", raising=False)
    folder = online / "images"
    folder.mkdir()
    name = "weights-inception-2015-12-05-6726825d.pth"
    with FileServer({f"/m/{name}": b"not the weights" * 1000}) as server:
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/m/"))
        assert main(["fid", str(folder), str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"downloading {name}" in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and "not the 6726825d" in errors[0]


def test_the_download_display_counts_bytes_in_decimal_units():
    from eqviz.cli.progress import ProgressDisplay

    stream = io.StringIO()
    with ProgressDisplay("downloading net.pkl", unit="B", stream=stream, enabled=True, unit_scale=True) as display:
        display.update(1_500_000, 3_000_000)
    assert "1.50M/3.00M" in stream.getvalue()  # 1024 as the divisor would say 1.43M/2.86M
