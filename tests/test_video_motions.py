"""Motion paths and frame layout: pure maths and pixels, no generator needed."""
import math

import numpy as np
import pytest
import torch

from eqviz.errors import EqvizError
from eqviz.video.motions import Motion, catmull_rom_loop, catmull_rom_weights, frame_count, parse_motion, pose, slerp_loop
from eqviz.cli.arguments import parse_grid
from eqviz.video.layout import GAP, Composer, Layout, auto_grid


def test_default_rotation_is_one_full_turn_that_loops():
    motion = Motion(kinds=("rotate",))
    n = 48
    assert pose(motion, 0, n) == ((0.0, 0.0), 0.0)
    assert pose(motion, 12, n)[1] == pytest.approx(90.0)
    # Frame n (the one after the last) is 360 degrees: the same picture as frame 0.
    assert pose(motion, n, n)[1] == pytest.approx(360.0)
    assert pose(Motion(kinds=("rotate",), turns=2), n, n)[1] == pytest.approx(720.0)


def test_circle_translation_loops_at_the_given_radius():
    motion = Motion(kinds=("translate",), radius=0.3)
    n = 10
    points = [pose(motion, i, n)[0] for i in range(n + 1)]
    assert all(math.hypot(*p) == pytest.approx(0.3) for p in points)
    assert points[n] == pytest.approx(points[0])


def test_line_translation_runs_end_to_end_along_the_angle():
    motion = Motion(kinds=("translate",), radius=0.2, path="line", angle_deg=90)
    first, last = pose(motion, 0, 5)[0], pose(motion, 4, 5)[0]
    # 90 degrees points up, i.e. towards smaller row index (negative ty).
    assert first == pytest.approx((0.0, 0.2))
    assert last == pytest.approx((0.0, -0.2))


def test_combined_motion_adds_to_the_starting_pose():
    motion = Motion(kinds=("walk", "rotate", "translate"), radius=0.1, base_translate=(0.05, 0.0), base_rotate_deg=10)
    (tx, ty), angle = pose(motion, 0, 4)
    assert (tx, ty, angle) == pytest.approx((0.15, 0.0, 10.0))
    assert motion.walks and motion.moves_input


def test_catmull_rom_weights_sum_to_one_and_interpolate_keyframes():
    for f in np.linspace(0, 1, 7):
        assert sum(catmull_rom_weights(f)) == pytest.approx(1.0)
    keys = torch.randn(5, 3, 4, dtype=torch.float64)
    for k in range(5):
        assert torch.allclose(catmull_rom_loop(keys, k / 5), keys[k])


def test_catmull_rom_loop_closes_with_a_continuous_velocity():
    keys = torch.randn(4, 8, dtype=torch.float64)
    h = 1e-6
    before_wrap = (catmull_rom_loop(keys, 1 - h) - catmull_rom_loop(keys, 1 - 2 * h)) / h
    after_wrap = (catmull_rom_loop(keys, h) - catmull_rom_loop(keys, 0.0)) / h
    assert torch.allclose(catmull_rom_loop(keys, 1 - 1e-12), keys[0], atol=1e-9)
    assert torch.allclose(before_wrap, after_wrap, rtol=1e-3, atol=1e-3)
    # Catmull-Rom's tangent at a keyframe is half the chord between its neighbours (times K per unit t).
    assert torch.allclose(after_wrap, (keys[1] - keys[3]) / 2 * 4, rtol=1e-3, atol=1e-4)


def test_slerp_loop_visits_keyframes_and_returns_to_the_first():
    zs = torch.randn(3, 16, dtype=torch.float64)
    assert torch.allclose(slerp_loop(zs, 0.0), zs[:1])
    assert torch.allclose(slerp_loop(zs, 2 / 3), zs[2:3])
    assert torch.allclose(slerp_loop(zs, 1 - 1e-12), zs[:1], atol=1e-9)


def test_motion_parsing_and_frame_count():
    assert parse_motion("walk, rotate,walk") == ("walk", "rotate")
    with pytest.raises(EqvizError, match="unknown motion spin"):
        parse_motion("spin")
    assert frame_count(None, 2.0, 30) == 60
    assert frame_count(17, None, 30) == 17
    assert frame_count(None, None, 25) == 100
    with pytest.raises(EqvizError, match="not both"):
        frame_count(10, 1.0, 30)


def test_grid_parsing():
    assert parse_grid("2x4") == (2, 4)
    assert [auto_grid(n) for n in (1, 3, 4, 8, 10)] == [(1, 1), (1, 3), (2, 2), (2, 4), (3, 4)]
    with pytest.raises(EqvizError, match="ROWSxCOLS"):
        parse_grid("2by4")


def test_composer_places_panels_row_major_with_gaps():
    layout = Layout(rows=2, cols=2, tile=8)
    frame = Composer(layout).compose([[np.full((8, 8, 3), v, np.uint8)] for v in (50, 100, 150)])
    assert frame.shape == (8 * 2 + GAP, 8 * 2 + GAP, 3)
    assert frame[0, 0, 0] == 50 and frame[0, 8 + GAP, 0] == 100 and frame[8 + GAP, 0, 0] == 150
    assert frame[8 + GAP, 8 + GAP, 0] not in (50, 100, 150)  # the empty fourth cell is background


def test_labelled_layout_has_a_header_and_panels_of_given_widths():
    layout = Layout(rows=1, cols=1, tile=32, labels=(("a", "b"), ("c", "d")), widths=(32, 50))
    frame = Composer(layout).compose([[np.full((32, 32, 3), 200, np.uint8), np.full((32, 50, 3), 90, np.uint8)]])
    assert frame.shape == (layout.header + 32, 32 + GAP + 50, 3)
    assert layout.header > 0 and frame[: layout.header].max() > 100  # label text is drawn
    assert frame[layout.header, 0, 0] == 200 and frame[layout.header, 32 + GAP, 0] == 90


