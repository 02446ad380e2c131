"""Direction sheets: the grid's tiles are the renders they claim to be, in the order they claim."""
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
from eqviz.directions.sheet import GAP, direction_sheet, sheet_rows
from eqviz.errors import EqvizError


def tile_at(sheet: np.ndarray, row: int, col: int, tile: int, rows: int, cols: int) -> np.ndarray:
    """The tile at (row, col), located from the sheet's bottom-right corner (label column and header sit left/top)."""
    height, width, _ = sheet.shape
    y = height - (rows - row) * (tile + GAP)
    x = width - (cols - col) * (tile + GAP)
    return sheet[y:y + tile, x:x + tile]


def test_rows_are_direction_major_or_seed_major():
    assert sheet_rows([0, 1], [5, 6], "directions") == [(0, 5), (0, 6), (1, 5), (1, 6)]
    assert sheet_rows([0, 1], [5, 6], "seeds") == [(0, 5), (1, 5), (0, 6), (1, 6)]


def test_cli_sheet_tiles_are_the_edited_renders(sg3t, G, tmp_path):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "4", "--out", str(dirs)]) == 0
    out = tmp_path / "sheet.png"
    assert main(["sheet", sg3t, "--directions", str(dirs), "--indices", "1,3", "--seeds", "2-3", "--strength", "2.5",
                 "--steps", "3", "--rows", "seeds", "--out", str(out)]) == 0
    sheet = np.asarray(Image.open(out))
    found = load_directions(dirs, G)
    order = [(1, 2), (3, 2), (1, 3), (3, 3)]  # seed-major
    for r, (k, seed) in enumerate(order):
        for c, alpha in enumerate((-2.5, 0.0, 2.5)):
            expected = to_uint8(render_session(G, Session(latent_x=float(seed), edits=[edit_from(found, k, alpha)])))
            got = tile_at(sheet, r, c, 64, len(order), 3)
            assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1, (k, seed, alpha)


def test_the_middle_column_of_an_odd_sheet_is_the_unedited_image(G):
    from eqviz.directions.sefa import sefa

    found = sefa(G, num=2, scale_samples=256)
    sheet = direction_sheet(G, found, [0, 1], [4], strength=3.0, steps=5)
    plain = to_uint8(render_session(G, Session(latent_x=4.0)))
    for r in range(2):
        got = tile_at(sheet, r, 2, 64, 2, 5)
        assert np.abs(got.astype(int) - plain.astype(int)).max() <= 1
        assert not np.array_equal(tile_at(sheet, r, 0, 64, 2, 5), plain)


def test_a_sheet_row_edits_the_ws_range_it_is_given(G):
    from eqviz.directions.sefa import sefa

    found = sefa(G, num=1, scale_samples=256)
    layers = (found.layers[0], found.layers[0] + 2)  # two ws instead of the set's own range
    sheet = direction_sheet(G, found, [0], [4], strength=3.0, steps=3, layers={0: layers})
    expected = to_uint8(render_session(G, Session(latent_x=4.0, edits=[edit_from(found, 0, 3.0, layers)])))
    assert np.abs(tile_at(sheet, 0, 2, 64, 1, 3).astype(int) - expected.astype(int)).max() <= 1
    default = to_uint8(render_session(G, Session(latent_x=4.0, edits=[edit_from(found, 0, 3.0)])))
    assert np.abs(default.astype(int) - expected.astype(int)).max() > 1  # the range matters


@pytest.mark.parametrize("kwargs, words", [({"strength": 0.0}, "strength"), ({"steps": 1}, "steps"),
                                           ({"rows": "cols"}, "rows"), ({"tile": 8}, "tile")])
def test_bad_sheet_settings_are_refused(G, kwargs, words):
    from eqviz.directions.sefa import sefa

    found = sefa(G, num=2, scale_samples=256)
    with pytest.raises(EqvizError, match=words):
        direction_sheet(G, found, [0], [0], **kwargs)


def test_cli_sheet_refuses_an_existing_output(sg3t, tmp_path, capsys):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "2", "--out", str(dirs)]) == 0
    out = tmp_path / "sheet.png"
    out.write_bytes(b"keep")
    capsys.readouterr()
    assert main(["sheet", sg3t, "--directions", str(dirs), "--indices", "0", "--steps", "2", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep"


def test_cli_sheet_names_indices_that_do_not_exist(sg3t, tmp_path, capsys):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "3", "--out", str(dirs)]) == 0
    capsys.readouterr()
    assert main(["sheet", sg3t, "--directions", str(dirs), "--indices", "1,5", "--out", str(tmp_path / "x.png")]) == 2
    assert "--indices: direction 5 does not exist; this set has directions 0 to 2" in capsys.readouterr().err
