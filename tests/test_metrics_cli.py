"""`eqviz metrics`: validation, the StyleGAN2 refusal, progress, the table and the JSON file."""
import json

import pytest
import torch

from eqviz.cli import main as cli
from eqviz.cli.arguments import parse_metrics


def test_stylegan2_checkpoint_is_refused_in_one_line(reference_dir, capsys):
    rc = cli.main(["metrics", str(reference_dir / "pkl" / "sg2_64.pkl"), "--num-samples", "2"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "not defined for StyleGAN2 (no input transform)" in err
    assert "Traceback" not in err and err.strip().count("\n") == 0


def test_unknown_metric_is_refused_before_loading(capsys):
    assert cli.main(["metrics", "missing.pkl", "--metrics", "eqt,eqr"]) == 2
    assert "unknown metric eqt" in capsys.readouterr().err


def test_missing_json_folder_is_refused_before_computing(tmp_path, capsys):
    rc = cli.main(["metrics", "missing.pkl", "--json", str(tmp_path / "no" / "eq.json")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value, says", [
    ("--translate-max", "nan", "--translate-max is in image widths, from 0 to 1, got nan"),  # was a traceback
    ("--translate-max", "2", "--translate-max is in image widths, from 0 to 1, got 2.0"),
    ("--rotate-max", "-1", "--rotate-max is in half turns, from 0 to 1, got -1.0"),
])
def test_transform_ranges_outside_the_metric_are_one_line(flag, value, says, reference_dir, capsys):
    assert cli.main(["metrics", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--num-samples", "2", flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"eqviz metrics: error: {says}"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_without_a_gpu_says_so(capsys, reference_dir):
    assert cli.main(["metrics", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_metric_list_keeps_order_and_drops_repeats():
    assert parse_metrics("eqr, eqt_int,eqr") == ("eqr", "eqt_int")


def test_run_prints_a_table_and_writes_json(reference_dir, tmp_path, capsys):
    out = tmp_path / "eq.json"
    rc = cli.main([
        "metrics", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--metrics", "eqt_int",
        "--num-samples", "2", "--batch", "2", "--seed", "3", "--json", str(out),
    ])
    captured = capsys.readouterr()
    assert rc == 0
    assert "EQ-T" in captured.out and "bootstrap" in captured.out and "ETA" in captured.err
    data = json.loads(out.read_text())
    assert data["settings"]["num_samples"] == 2 and data["settings"]["seed"] == 3
    assert data["complete"] and data["results"]["eqt_int"]["psnr_db"] > 60
    assert len(data["results"]["eqt_int"]["interval_95_db"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eq.json"]  # no temp file left behind
