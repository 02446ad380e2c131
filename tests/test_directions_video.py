"""Edits in videos: the edit motion swings along a direction, alpha sin(2 pi t), and combines with
rotation; fixed edits apply to every frame; `eqviz video --edit` renders what the library says."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

from directions_fixtures import G, sg3t  # noqa: F401 (fixtures)
from eqviz.cli.main import main
from eqviz.core.images import to_uint8
from eqviz.core.rendering import render_session
from eqviz.core.session import Session
from eqviz.directions.edits import edit_from
from eqviz.directions.sefa import sefa
from eqviz.errors import EqvizError
from eqviz.video.motions import Motion
from eqviz.video.render import FrameSource, VideoSpec


@pytest.fixture(scope="module")
def directions(G):
    return sefa(G, num=3, scale_samples=512)


def source(G, motion, **kwargs):
    spec = VideoSpec(checkpoints=[G], out="unused.gif", motion=motion, frames=8, seeds=[5], **kwargs)
    return FrameSource(spec, generators=[("sg3t", G)])


def test_the_edit_motion_swings_alpha_sin_2pi_t_and_loops(G, directions):
    edit = edit_from(directions, 1, 2.5, layers=(3, 9))
    frames = source(G, Motion(kinds=("edit",), sweeps=(edit,)))
    ws = frames.latents(frames.tracks[0], range(9))[:, 0]  # [9, num_ws, w_dim]
    base = ws[0]
    d = torch.tensor(edit.direction)
    for i in range(9):
        expected = base.clone()
        expected[3:9] += 2.5 * math.sin(2 * math.pi * i / 8) * edit.scale * d
        torch.testing.assert_close(ws[i], expected, rtol=0, atol=1e-5 * float(base.abs().max()))
    torch.testing.assert_close(ws[8], ws[0], rtol=0, atol=1e-6 * float(base.abs().max()))  # loops


def test_an_edit_swing_with_rotation_renders_the_edited_rotated_frame(G, directions):
    edit = edit_from(directions, 0, 3.0)
    frames = source(G, Motion(kinds=("edit", "rotate"), sweeps=(edit,)))
    (frame,) = frames.render([2])  # a quarter of the loop: alpha 3, rotated by 90 degrees
    expected = to_uint8(render_session(G, Session(latent_x=5.0, rotate_deg=90.0, edits=[edit])))
    assert np.abs(frame.astype(int) - expected.astype(int)).max() <= 1


def test_fixed_edits_apply_to_every_frame(G, directions):
    edit = edit_from(directions, 2, -2.0)
    frames = source(G, Motion(kinds=("rotate",)), edits=[edit])
    (frame,) = frames.render([4])
    expected = to_uint8(render_session(G, Session(latent_x=5.0, rotate_deg=180.0, edits=[edit])))
    assert np.abs(frame.astype(int) - expected.astype(int)).max() <= 1


def test_the_edit_motion_without_directions_is_refused(G):
    with pytest.raises(EqvizError, match="swings along directions"):
        source(G, Motion(kinds=("edit",)))
    with pytest.raises(EqvizError, match="add edit to the motion"):
        Motion(kinds=("rotate",), sweeps=(object(),))


def test_cli_video_edit_motion_frames_are_the_edited_renders(sg3t, G, tmp_path):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "3", "--out", str(dirs)]) == 0
    out = tmp_path / "frames"
    assert main(["video", sg3t, "--motion", "edit", "--edit", f"{dirs}:1", "--strength", "2", "--seeds", "4",
                 "--frames", "4", "--out", str(out)]) == 0
    from eqviz.directions.files import load_directions

    found = load_directions(dirs, G)
    for i, alpha in ((0, 0.0), (1, 2.0), (3, -2.0)):
        got = np.asarray(Image.open(out / f"frame_{i:06d}.png"))
        expected = to_uint8(render_session(G, Session(latent_x=4.0, edits=[edit_from(found, 1, alpha)])))
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1, i


@pytest.mark.parametrize("extra, words", [
    (["--motion", "edit"], "--edit: the edit motion swings along directions"),
    (["--motion", "rotate", "--edit", "{dirs}:0"], "give each direction a strength"),
    (["--motion", "rotate", "--edit", "{dirs}:0=1", "--strength", "2"], "add edit to --motion"),
    (["{ckpt}", "--motion", "edit", "--edit", "{dirs}:0"], "directions belong to one model"),
])
def test_cli_video_refuses_inconsistent_edit_flags(sg3t, tmp_path, capsys, extra, words):
    dirs = tmp_path / "s.npz"
    assert main(["directions", sg3t, "--num", "2", "--out", str(dirs)]) == 0
    capsys.readouterr()
    argv = ["video", sg3t, *[a.format(dirs=dirs, ckpt=sg3t) for a in extra], "--frames", "2", "--out", str(tmp_path / "v.gif")]
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_a_session_walk_keeps_the_sessions_edits_on_every_frame(G, directions):
    edit = edit_from(directions, 0, 2.0)
    session = Session(latent_x=5.0, edits=[edit])
    spec = VideoSpec(checkpoints=[G], out="unused.gif", motion=Motion(kinds=("walk",)), frames=8, seeds=[9], session=session)
    frames = FrameSource(spec, generators=[("sg3t", G)])
    start, halfway = frames.render([0, 4])  # the keyframes: the session's latent, then seed 9
    for got, seed in ((start, 5.0), (halfway, 9.0)):
        expected = to_uint8(render_session(G, Session(latent_x=seed, edits=[edit])))
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1, seed
