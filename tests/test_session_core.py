"""Session JSON, NVIDIA's seed and input-transform conventions, atomic outputs."""
import json

import numpy as np
import pytest
import torch

from networks.errors import EqvizError
from visualizer.atomic_io import atomic_output, save_png
from visualizer.input_transform import transform_matrix
from visualizer.latents import grid_seeds, lerp, slerp, z_from_seed
from visualizer.session import Session


@pytest.fixture(scope="module")
def sg3t_golden(reference_dir):
    return np.load(reference_dir / "golden" / "sg3t_64_render.npz")


def test_z_from_seed_matches_nvidia_latents(sg3t_golden):
    for seed, z in zip(sg3t_golden["seed"], sg3t_golden["z"]):
        assert np.array_equal(z_from_seed(int(seed), 64).astype(np.float32)[0], z)


def test_transform_matrix_and_its_inverse_match_the_official_visualizer(sg3t_golden):
    for t, deg, M, inv32 in zip(sg3t_golden["translate"], sg3t_golden["rotate_deg"],
                                sg3t_golden["input_transform"], sg3t_golden["transform"]):
        ours = transform_matrix(t, deg)
        np.testing.assert_allclose(ours, M, rtol=0, atol=1e-15)
        assert np.array_equal(np.linalg.inv(ours).astype(np.float32), inv32)


def test_grid_seeds_blend_bilinearly_with_weights_summing_to_one():
    assert grid_seeds(5, 0) == [(5, 1)]
    pairs = dict(grid_seeds(2.25, 1.5))
    assert pairs == pytest.approx({102: 0.375, 103: 0.125, 202: 0.375, 203: 0.125})
    assert sum(pairs.values()) == pytest.approx(1)


def test_slerp_hits_endpoints_and_keeps_norm_between_orthogonal_vectors():
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    assert slerp(a, b, 0.5).norm().item() == pytest.approx(3.0)
    assert lerp(a, b, 0.5).norm().item() == pytest.approx(3.0 / 2**0.5)


def test_session_round_trips_through_json(tmp_path):
    s = Session(checkpoint="x.pkl", latent_x=3.5, psi=0.7, cutoff=4, translate=(0.1, -0.2), rotate_deg=30,
                mix_seed=9, mix_range=(2, 6), view={"layer": "L3_36_64"})
    path = tmp_path / "s.json"
    s.save(path)
    assert Session.load(path) == s
    assert json.loads(path.read_text())["format"] == "eqviz-session/1"


@pytest.mark.parametrize("bad, words", [
    ({"noise_mode": "loud"}, "noise_mode"),
    ({"psi": float("nan")}, "psi"),
    ({"translate": [0, float("inf")]}, "translate"),
    ({"zoom": 3}, "unknown session field"),
    ({"translate": "left"}, "wrong type"),
])
def test_session_rejects_bad_fields_with_a_sentence(bad, words):
    d = {**Session().to_dict(), **bad}
    with pytest.raises(EqvizError, match=words):
        Session.from_dict(d)


def test_session_load_of_a_non_session_says_so(tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(EqvizError, match="not an eqviz session"):
        Session.load(tmp_path / "x.json")


def test_atomic_output_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_refuses_to_overwrite_unless_asked(tmp_path):
    target = tmp_path / "a.png"
    save_png(target, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(EqvizError, match="--overwrite"):
        save_png(target, np.ones((4, 4, 3), np.uint8), overwrite=False)
    save_png(target, np.full((4, 4, 3), 7, np.uint8))
    from PIL import Image
    assert np.asarray(Image.open(target))[0, 0, 0] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
