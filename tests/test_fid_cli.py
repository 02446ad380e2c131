"""`eqviz fid`: one-line errors that say what to do, and a JSON with every number and setting."""
import json

import numpy as np
import pytest
from PIL import Image

from eqviz.cli.main import main
from eqviz.metrics.equivariance import compute_equivariance
from eqviz.metrics.fid.compute import compute_fid_kid
from eqviz.metrics.fid.inception import load_inception
from eqviz.networks import load_generator
from fid_oracle import folder_features, oracle_inception, textbook_fid, textbook_kid  # noqa: F401 (fixture)


def folder(path, seed, n=3, size=16):
    path.mkdir()
    for i, img in enumerate(np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)):
        Image.fromarray(img).save(path / f"{i}.png")
    return path


def test_without_weights_offline_the_error_says_which_file_to_fetch_and_where(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EQVIZ_INCEPTION", raising=False)
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EQVIZ_OFFLINE", "1")
    a = folder(tmp_path / "a", 0)
    assert main(["fid", str(a), str(a)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "weights-inception-2015-12-05-6726825d.pth" in err
    assert str(tmp_path / "cache" / "downloads") in err


def test_a_missing_source_is_one_line(tmp_path, capsys, oracle_inception):  # noqa: F811
    a = folder(tmp_path / "a", 0)
    assert main(["fid", str(a), str(tmp_path / "nothing"), "--inception", str(oracle_inception)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err


def test_a_resolution_mismatch_names_the_flag_that_allows_resizing(tmp_path, capsys, reference_dir, oracle_inception):  # noqa: F811
    a = folder(tmp_path / "a", 0, size=32)
    code = main(["fid", str(a), str(reference_dir / "pkl" / "sg2_64.pkl"), "--inception", str(oracle_inception), "--no-cache"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--resize-data" in err and "32x32" in err


def test_fid_between_folders_writes_json(tmp_path, monkeypatch, capsys, oracle_inception):  # noqa: F811
    monkeypatch.setenv("EQVIZ_INCEPTION", str(oracle_inception))
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    a, b = folder(tmp_path / "a", 1), folder(tmp_path / "b", 2)
    out = tmp_path / "fid.json"
    assert main(["fid", str(a), str(b), "--metrics", "fid,kid", "--bootstrap", "0", "--pipeline", "pytorch-fid",
                 "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["settings"]["pipeline"] == "pytorch-fid" and data["protocol"] == {"fid": "fid_3_vs_3", "kid": "kid_3_vs_3"}
    inception = load_inception(oracle_inception, pipeline="pytorch-fid")
    fa, fb = folder_features(inception, a), folder_features(inception, b)
    assert data["fid"]["value"] == pytest.approx(textbook_fid(fa, fb), rel=1e-6)
    assert data["kid"]["value"] == pytest.approx(textbook_kid(fa, fb), rel=1e-6, abs=1e-9)
    assert data["sources"]["a"]["images"] == 3 and data["sources"]["b"]["kind"] == "folder"
    assert f"FID fid_3_vs_3: {data['fid']['value']:.4f}" in capsys.readouterr().out


def test_metrics_without_data_says_to_pass_it(tmp_path, capsys, reference_dir):
    assert main(["metrics", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--metrics", "fid"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data" in err


def test_metrics_computes_fid_beside_eq(tmp_path, monkeypatch, reference_dir, oracle_inception):  # noqa: F811
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    data = folder(tmp_path / "data", 3, n=4, size=64)
    out = tmp_path / "m.json"
    assert main(["metrics", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--metrics", "fid,eqt_int", "--data", str(data),
                 "--num-samples", "3", "--batch", "3", "--inception", str(oracle_inception), "--bootstrap", "0",
                 "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    G = load_generator(str(reference_dir / "pkl" / "sg3t_64.pkl"))
    eq = compute_equivariance(G, metrics=("eqt_int",), num_samples=3, batch_size=3)
    fid = compute_fid_kid(str(data), G, str(oracle_inception), num_samples=3, batch_size=3, bootstrap_replicates=0,
                          use_cache=False)
    assert payload["results"]["eqt_int"]["psnr_db"] == pytest.approx(eq.psnr_db["eqt_int"], rel=1e-12)
    assert payload["fid_kid"]["protocol"] == {"fid": "fid3_full"}
    assert payload["fid_kid"]["fid"]["value"] == pytest.approx(fid.fid, rel=1e-9)
    assert payload["fid_kid"]["sources"]["a"]["images"] == 4 and payload["fid_kid"]["sources"]["b"]["images"] == 3
