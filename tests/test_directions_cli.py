"""`eqviz directions` and `eqviz render --edit`, in-process through the CLI entry point, checked
against the library calls they stand for."""
import dataclasses

import numpy as np
import pytest
from PIL import Image

from directions_fixtures import G, sg3t  # noqa: F401 (fixtures)
from eqviz.cli.main import main
from eqviz.core.images import to_uint8
from eqviz.core.rendering import render_session
from eqviz.core.session import Session
from eqviz.directions.edits import edit_from
from eqviz.directions.files import load_directions
from eqviz.directions.ganspace import ganspace
from eqviz.directions.sefa import sefa


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_directions_sefa_writes_what_the_library_computes(sg3t, G, tmp_path, capsys):
    assert main(["directions", sg3t, "--method", "sefa", "--num", "7", "--out", str(tmp_path / "s.npz")]) == 0
    saved = load_directions(tmp_path / "s.npz", G)
    expected = sefa(G, num=7)
    assert np.array_equal(saved.directions, expected.directions) and saved.layers == (1, 16)
    assert "7 sefa directions on ws 1-15" in capsys.readouterr().out


def test_directions_ganspace_on_a_layer_range(sg3t, G, tmp_path):
    out = tmp_path / "g.npz"
    assert main(["directions", sg3t, "--method", "ganspace", "--num", "4", "--num-samples", "3000", "--layers", "2-5",
                 "--out", str(out)]) == 0
    saved = load_directions(out, G)
    expected = ganspace(G, num=4, num_samples=3000, layers=(2, 6))
    assert saved.method == "ganspace" and saved.layers == (2, 6)
    np.testing.assert_allclose(saved.values, expected.values, rtol=1e-12)


@pytest.mark.parametrize("argv, words", [
    (["--num", "0"], "--num: number of directions"),
    (["--layers", "5-2"], "--layers: layer range '5-2'"),
    (["--layers", "0-0"], "--layers: no modulated convolution reads ws 0 to 0"),
    (["--method", "ganspace", "--num-samples", "5"], "--num-samples: GANSpace needs more samples"),
])
def test_directions_refuses_bad_flags_in_one_line_naming_the_flag(sg3t, tmp_path, capsys, argv, words):
    assert main(["directions", sg3t, *argv, "--out", str(tmp_path / "x.npz")]) == 2
    assert words in error_line(capsys)
    assert not (tmp_path / "x.npz").exists()


def test_render_edit_equals_the_session_with_those_edits(sg3t, G, tmp_path):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "5", "--out", str(dirs)]) == 0
    assert main(["render", sg3t, "--seeds", "3", "--rotate", "15", "--edit", f"{dirs}:0=2,3=-1.5",
                 "--outdir", str(tmp_path / "out")]) == 0
    got = np.asarray(Image.open(tmp_path / "out" / "seed0003.png"))
    found = load_directions(dirs, G)
    session = Session(latent_x=3.0, rotate_deg=15.0, edits=[edit_from(found, 0, 2.0), edit_from(found, 3, -1.5)])
    assert np.array_equal(got, to_uint8(render_session(G, session)))
    assert not np.array_equal(got, to_uint8(render_session(G, dataclasses.replace(session, edits=[]))))


@pytest.mark.parametrize("flag, words", [
    ("{dirs}:9=1", "--edit: direction 9 does not exist"),
    ("{dirs}:0", "give each direction a strength"),
    ("{dirs}:a=b", "write direction=alpha pairs"),
    ("{dirs}", "needs FILE:K=ALPHA"),
])
def test_render_refuses_a_bad_edit_flag(sg3t, tmp_path, capsys, flag, words):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "5", "--out", str(dirs)]) == 0
    capsys.readouterr()
    assert main(["render", sg3t, "--seeds", "3", "--edit", flag.format(dirs=dirs), "--outdir", str(tmp_path / "o")]) == 2
    assert words in error_line(capsys)


def test_render_refuses_directions_of_another_model(sg3t, reference_dir, tmp_path, capsys):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "3", "--out", str(dirs)]) == 0
    capsys.readouterr()
    sg2 = str(reference_dir / "pkl" / "sg2_64.pkl")
    assert main(["render", sg2, "--seeds", "1", "--edit", f"{dirs}:0=1", "--outdir", str(tmp_path / "o")]) == 2
    assert "holds directions for a stylegan3-t 64x64 model" in error_line(capsys)


def test_render_session_replays_the_edits_it_holds(sg3t, G, tmp_path):
    found = sefa(G, num=3, scale_samples=512)
    session = Session(checkpoint=sg3t, latent_x=6.0, translate=(0.1, 0.0), edits=[edit_from(found, 1, -2.0, (2, 10))])
    session.save(tmp_path / "look.json")
    assert main(["render", "--session", str(tmp_path / "look.json"), "--outdir", str(tmp_path / "out")]) == 0
    got = np.asarray(Image.open(tmp_path / "out" / "look.png"))
    assert np.array_equal(got, to_uint8(render_session(G, session)))


def test_directions_refuses_an_existing_output_before_computing(sg3t, tmp_path, capsys):
    out = tmp_path / "s.npz"
    out.write_bytes(b"keep")
    assert main(["directions", sg3t, "--method", "ganspace", "--out", str(out)]) == 2
    assert "already exists" in error_line(capsys) and out.read_bytes() == b"keep"


def test_sheet_of_a_small_set_shows_all_of_it_by_default(sg3t, G, tmp_path, capsys):
    """Without --indices a sheet shows the first five directions, or all of a smaller set (a set of
    three was refused, blaming an --indices flag the user never gave)."""
    from eqviz.directions.sheet import direction_sheet

    dirs, out = tmp_path / "d.npz", tmp_path / "s.png"
    assert main(["directions", sg3t, "--num", "3", "--out", str(dirs)]) == 0
    assert main(["sheet", sg3t, "--directions", str(dirs), "--steps", "2", "--out", str(out)]) == 0
    expected = direction_sheet(G, load_directions(dirs, G), range(3), [0], strength=3.0, steps=2, session=Session())
    assert np.array_equal(np.asarray(Image.open(out)), expected)
    assert "3 rows x 2 columns" in capsys.readouterr().out
