"""Session JSON, NVIDIA's seed and input-transform conventions, atomic outputs."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from eqviz.errors import EqvizError
from eqviz.atomic_io import atomic_output, save_png
from eqviz.core.input_transform import transform_matrix
from eqviz.core.latents import grid_seeds, lerp, slerp, z_from_seed
from eqviz.core.session import Session

from tolerances import float32_rounding


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
        np.testing.assert_allclose(np.linalg.inv(ours).astype(np.float32), inv32, rtol=0, atol=float32_rounding(inv32))


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
    with pytest.raises(EqvizError, match="already exists; allow overwriting"):
        save_png(target, np.ones((4, 4, 3), np.uint8), overwrite=False)
    save_png(target, np.full((4, 4, 3), 7, np.uint8))
    from PIL import Image
    assert np.asarray(Image.open(target))[0, 0, 0] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


# ---- session_ws / render_session on NVIDIA's reference generator ---------------------------------
@pytest.fixture(scope="module")
def sg3t(reference_dir):
    import eqviz.networks
    return eqviz.networks.load_generator(reference_dir / "pkl" / "sg3t_64.pkl")


def test_plain_session_renders_nvidias_golden_frame(sg3t, sg3t_golden):
    from eqviz.core.latents import session_ws
    from eqviz.core.rendering import render_session
    i = 3  # seed 3, psi 1, cutoff 4, translated and rotated
    s = Session(latent_x=float(sg3t_golden["seed"][i]), psi=float(sg3t_golden["psi"][i]), cutoff=4,
                translate=tuple(sg3t_golden["translate"][i]), rotate_deg=float(sg3t_golden["rotate_deg"][i]))
    # The mapping's matmuls take MKL's per-CPU paths: NVIDIA's own code moves ws by 1.1e-6 abs under MKL_CBWR=COMPATIBLE
    # (6e-7 on an AVX-512 Xeon), values up to 5.3; 1e-5 is the bar for ws, 9x that.
    np.testing.assert_allclose(session_ws(sg3t, s).numpy(), sg3t_golden["ws"][i:i + 1], rtol=0, atol=1e-5)
    img = render_session(sg3t, s)[0].numpy()
    ref = sg3t_golden["img"][i]
    assert np.abs(img - ref).max() / np.abs(ref).max() < 1e-4


def test_fractional_seed_blends_the_neighbours_ws_and_truncates_after(sg3t):
    from eqviz.core.latents import seed_ws, session_ws
    got = session_ws(sg3t, Session(latent_x=4.25, latent_y=1.0, psi=0.5))
    w4, w5 = seed_ws(sg3t, 104), seed_ws(sg3t, 105)
    blended = 0.75 * w4 + 0.25 * w5
    expected = sg3t.mapping.w_avg.lerp(blended, 0.5)
    assert torch.allclose(got, expected, atol=1e-5)


def test_interpolation_endpoints_and_style_mixing(sg3t):
    from eqviz.core.latents import seed_ws, session_ws
    for space in ("w", "z"):
        at_b = session_ws(sg3t, Session(latent_x=1, seed_b=2, interp_t=1.0, interp_space=space))
        assert torch.allclose(at_b, seed_ws(sg3t, 2), atol=1e-5)
    mixed = session_ws(sg3t, Session(latent_x=1, mix_seed=2, mix_range=(4, 16)))
    assert torch.equal(mixed[:, :4], seed_ws(sg3t, 1)[:, :4])
    assert torch.equal(mixed[:, 4:], seed_ws(sg3t, 2)[:, 4:])


def test_w_file_from_the_projector_replaces_the_seed(sg3t, tmp_path):
    from eqviz.core.latents import seed_ws, session_ws
    w = seed_ws(sg3t, 7).numpy()
    np.savez(tmp_path / "projected_w.npz", w=w)
    got = session_ws(sg3t, Session(latent_x=0, w_path=str(tmp_path / "projected_w.npz")))
    assert np.array_equal(got.numpy(), w)
    np.save(tmp_path / "bad.npy", np.zeros((1, 3, 5), np.float32))
    with pytest.raises(EqvizError, match="wants"):
        session_ws(sg3t, Session(w_path=str(tmp_path / "bad.npy")))


@pytest.mark.parametrize("text, seeds", [("5", [5]), ("0-3", [0, 1, 2, 3]), ("1,4,10-12", [1, 4, 10, 11, 12])])
def test_seed_lists_parse_like_nvidias_scripts(text, seeds):
    from eqviz.core.seeds import parse_seeds
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, match", [("", "0-7"), ("3-1", "write it 1-3"), ("a", "0-7"), ("1,,x", "0-7"),
                                         ("-1", "0 to 4294967295"), ("0-4294967296", "0 to 4294967295")])
def test_bad_seed_lists_say_how_to_write_them(text, match):
    from eqviz.core.seeds import parse_seeds
    with pytest.raises(EqvizError, match=match):
        parse_seeds(text)


def test_seed_ranges_stream_without_being_expanded():
    from eqviz.core.seeds import parse_seeds

    seeds = parse_seeds("7,0-4294967295")  # 2^32 + 1 seeds: a list of them would need 150 GB
    assert len(seeds) == 2**32 + 1 and seeds[0] == 7 and seeds[1] == 0 and seeds[-1] == 2**32 - 1
    assert 123456789 in seeds and 2**32 not in seeds
    assert list(zip(range(3), seeds)) == [(0, 7), (1, 0), (2, 1)]


# ---- Posing per sample, image conversions, the error colour scale ------------------------------------
def test_inverse_transforms_are_the_float32_inverses_nvidia_writes(sg3t_golden):
    from eqviz.core.input_transform import inverse_transforms

    poses = [(tuple(t), float(deg)) for t, deg in zip(sg3t_golden["translate"], sg3t_golden["rotate_deg"])]
    expected = sg3t_golden["transform"]
    np.testing.assert_allclose(inverse_transforms(poses).numpy(), expected, rtol=0, atol=float32_rounding(expected))


def test_posed_synthesis_equals_writing_the_buffer_and_leaves_it_alone(sg3t):
    from eqviz.core.input_transform import inverse_transforms, synthesize_posed

    ws = sg3t.mapping(torch.randn(2, sg3t.z_dim, generator=torch.Generator().manual_seed(3)), None)
    pose = ((0.05, -0.1), 20.0)
    buffer = sg3t.synthesis.input.transform
    with torch.no_grad():
        posed = synthesize_posed(sg3t, ws, pose)
        assert torch.equal(buffer, torch.eye(3))
        try:
            buffer.copy_(inverse_transforms([pose])[0])  # NVIDIA's way, as the oracle
            written = sg3t.synthesis(ws)
        finally:
            buffer.copy_(torch.eye(3))
    np.testing.assert_allclose(posed.numpy(), written.numpy(), rtol=0, atol=1e-5)


def test_stylegan2_takes_only_the_identity_pose(reference_dir):
    import eqviz.networks
    from eqviz.core.input_transform import synthesize_posed

    G = eqviz.networks.load_generator(reference_dir / "pkl" / "sg2_64.pkl")
    ws = G.mapping(torch.randn(1, G.z_dim), None)
    with torch.no_grad():
        torch.testing.assert_close(synthesize_posed(G, ws), G.synthesis(ws), rtol=0, atol=1e-6)
        with pytest.raises(EqvizError, match="StyleGAN2 generator has no input transform"):
            synthesize_posed(G, ws, ((0.1, 0.0), 0.0))


def test_uint8_conversion_is_nvidias_rounding():
    from eqviz.core.images import images_to_rgb8, to_uint8

    img = torch.tensor([-1.5, -1.0, -0.0039, 0.0, 0.5, 0.99, 1.0, 2.0]).reshape(1, 1, 2, 4).expand(1, 3, 2, 4)
    expected = np.clip(img.numpy() * 127.5 + 128, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)[0]
    assert np.array_equal(to_uint8(img), expected)
    grey = images_to_rgb8(img[:, :1])
    assert grey.shape == (1, 2, 4, 3) and np.array_equal(grey[0].numpy(), expected)


def test_error_colours_are_matplotlibs_magma_on_the_log_scale():
    from matplotlib import colormaps

    from eqviz.core.colormaps import ERROR_COLORMAP, ERROR_LOG10_RANGE, error_colours

    sq_err = np.array([0.0, 1e-7, 1e-6, 3e-5, 1e-3, 0.2, 1.0, 4.0])
    lo, hi = ERROR_LOG10_RANGE
    position = np.clip((np.log10(np.maximum(sq_err, 1e-30)) - lo) / (hi - lo), 0, 1)
    expected = colormaps[ERROR_COLORMAP](position)[:, :3] * 255
    got = error_colours(torch.from_numpy(sq_err)).numpy()
    # A 256-entry table sampled at the nearest entry: neighbouring magma entries differ by < 4 levels.
    np.testing.assert_allclose(got, expected, atol=4)
    assert np.array_equal(got[0], got[2]) and np.array_equal(got[-1], got[-2])  # saturates at both ends


def test_error_legend_runs_from_the_dark_to_the_bright_end():
    from eqviz.core.colormaps import error_colours, error_legend

    legend = error_legend(200, 34)
    assert legend.shape == (34, 200, 3)
    ends = error_colours(torch.tensor([1e-6, 1.0])).numpy()
    assert np.array_equal(legend[0, 0], ends[0]) and np.array_equal(legend[0, -1], ends[1])
    assert legend[-10:].max() > 200  # the decade labels are drawn under the bar


# One changed value per session field; a new field must be added here, deciding whether it moves ws.
ALTERED = {
    "checkpoint": "other.pkl", "latent_x": 1.5, "latent_y": 1.0, "psi": 0.5, "cutoff": 2, "noise_mode": "random",
    "noise_seed": 3, "class_idx": 2, "mix_seed": 9, "mix_range": (2, 6), "mix_layers": (1, 3), "seed_b": 4,
    "interp_t": 0.5, "interp_space": "z", "w_path": "elsewhere.npz", "translate": (0.1, -0.2), "rotate_deg": 30.0,
    "untransform": True, "view": {"zoom": 2}, "edits": ["an edit"],
}


def test_every_field_but_the_posing_ones_is_in_the_latent_key():
    from eqviz.core.session import NOT_IN_WS

    base = Session(seed_b=1, interp_t=0.25, mix_seed=5)
    assert set(ALTERED) == {f.name for f in dataclasses.fields(Session)}
    for name, value in ALTERED.items():
        changed = dataclasses.replace(base, **{name: value})
        assert (changed.latent_key() == base.latent_key()) == (name in NOT_IN_WS), name


def test_the_fields_left_out_of_the_key_do_not_change_ws(sg3t):
    """The independent side of the key: session_ws itself ignores what the key leaves out."""
    from eqviz.core.latents import session_ws
    from eqviz.core.session import NOT_IN_WS

    base = Session(latent_x=2.5, psi=0.7, seed_b=3, interp_t=0.4, mix_seed=8)
    want = session_ws(sg3t, base)
    for name in NOT_IN_WS:
        assert torch.equal(session_ws(sg3t, dataclasses.replace(base, **{name: ALTERED[name]})), want), name
