"""Editing directions: SeFa and GANSpace against numpy oracles built from NVIDIA's raw weights and
from the mapped samples, edits on ws, and direction files."""
import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from eqviz.core.latents import session_ws
from eqviz.core.rendering import render_session
from eqviz.core.session import Session
from eqviz.core.edits import Edit, apply_edits
from eqviz.directions.edits import edit_from
from eqviz.directions.files import load_directions, save_directions
from eqviz.directions.ganspace import ganspace
from eqviz.directions.layers import default_layers, parse_layer_range
from eqviz.directions.sefa import sefa
from eqviz.directions.w_statistics import WMoments, mapped_w_batches
from eqviz.errors import EqvizError
from eqviz.metrics.equivariance import apply_fractional_pseudo_rotation, apply_fractional_rotation, apply_integer_translation, psnr_db
from eqviz.networks import load_generator


@pytest.fixture(scope="module")
def generators(reference_dir):
    return {name: load_generator(reference_dir / "pkl" / f"{name}.pkl") for name in ("sg2_64", "sg3t_64")}


def conv_ws_index(key: str) -> int | None:
    """ws index of a synthesis layer's style affine from its NVIDIA key, None for ToRGB / input affines:
    StyleGAN3 L<i> reads ws[i + 1]; StyleGAN2 block b<res> (k = log2(res) - 2) reads 2k - 1 (conv0) and 2k (conv1)."""
    m = re.fullmatch(r"synthesis\.L(\d+)_\d+_\d+\.affine\.weight", key)
    if m:
        return int(m.group(1)) + 1
    m = re.fullmatch(r"synthesis\.b(\d+)\.conv([01])\.affine\.weight", key)
    if m:
        k = int(math.log2(int(m.group(1)))) - 2
        return 2 * k - 1 + int(m.group(2))
    return None


def sefa_oracle(raw: dict, layers, with_gain: bool):
    """SeFa by the definition, from the raw state dict: weights (times the equalized-lr gain when asked),
    transposed, concatenated, columns normalised; directions = left singular vectors."""
    blocks = []
    for key, value in raw.items():
        index = conv_ws_index(key)
        if index is not None and layers[0] <= index < layers[1]:
            weight = value.astype(np.float64) * (1 / np.sqrt(value.shape[1]) if with_gain else 1)
            blocks.append(weight.T)
    A = np.concatenate(blocks, axis=1)
    A /= np.linalg.norm(A, axis=0)
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    return U.T, s ** 2


def abs_cos(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.abs(np.sum(a * b, axis=-1)) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


@pytest.mark.parametrize("name", ["sg2_64", "sg3t_64"])
@pytest.mark.parametrize("with_gain", [False, True])
def test_sefa_matches_numpy_svd_of_the_raw_affine_weights(generators, reference_dir, name, with_gain):
    raw = dict(np.load(reference_dir / "weights" / f"{name}.npz"))
    G = generators[name]
    found = sefa(G, num=8)
    directions, values = sefa_oracle(raw, found.layers, with_gain)
    assert abs_cos(found.directions[:5], directions[:5]).min() > 0.999
    np.testing.assert_allclose(found.values, values[:8], rtol=1e-9)


def test_sefa_of_stylegan3_r_matches_numpy_svd_of_its_state_dict(reference_dir):
    """No raw weights file exists for sg3r_64; its pickle's state dict (NVIDIA's key names) stands in."""
    G = load_generator(reference_dir / "pkl" / "sg3r_64.pkl")
    raw = {key: value.numpy() for key, value in G.state_dict().items()}
    found = sefa(G, num=8, scale_samples=256)
    directions, values = sefa_oracle(raw, found.layers, with_gain=True)
    assert abs_cos(found.directions[:5], directions[:5]).min() > 0.999
    np.testing.assert_allclose(found.values, values[:8], rtol=1e-9)


def test_sefa_default_layers_are_every_synthesis_layer_but_the_stylegan3_input(generators):
    assert default_layers(generators["sg2_64"]) == (0, 10)
    assert default_layers(generators["sg3t_64"]) == (1, 16)


@pytest.mark.parametrize("name, layers", [("sg2_64", (3, 6)), ("sg3t_64", (4, 9))])
def test_sefa_on_a_ws_range_uses_only_the_affines_reading_it(generators, reference_dir, name, layers):
    raw = dict(np.load(reference_dir / "weights" / f"{name}.npz"))
    found = sefa(generators[name], num=5, layers=layers)
    directions, values = sefa_oracle(raw, layers, with_gain=False)
    assert found.layers == layers
    assert abs_cos(found.directions, directions[:5]).min() > 0.999
    np.testing.assert_allclose(found.values, values[:5], rtol=1e-9)


def test_sefa_directions_satisfy_the_eigen_equation_in_decreasing_order(generators, reference_dir):
    raw = dict(np.load(reference_dir / "weights" / "sg3t_64.npz"))
    found = sefa(generators["sg3t_64"], num=20)
    U, s2 = sefa_oracle(raw, found.layers, with_gain=False)
    AAt = (U.T * s2) @ U  # A Aᵀ rebuilt from the oracle's SVD
    d = found.directions.astype(np.float64)
    residual = np.linalg.norm(d @ AAt - found.values[:, None] * d, axis=1)
    assert residual.max() < 1e-6 * found.values[0]
    assert np.all(np.diff(found.values) <= 0)
    np.testing.assert_allclose(d @ d.T, np.eye(20), atol=1e-6)


def test_a_layer_range_without_a_style_affine_is_refused(generators):
    with pytest.raises(EqvizError, match="no modulated convolution"):
        sefa(generators["sg3t_64"], layers=(0, 1))
    with pytest.raises(EqvizError, match="not inside"):
        sefa(generators["sg3t_64"], layers=(3, 40))


def test_layer_ranges_are_written_with_both_ends_included():
    assert parse_layer_range("2-5") == (2, 6) and parse_layer_range("4") == (4, 5)
    with pytest.raises(EqvizError, match="layer range"):
        parse_layer_range("5-2")


def test_ganspace_matches_numpy_svd_of_the_same_mapped_samples(generators):
    G = generators["sg3t_64"]
    w = torch.cat(list(mapped_w_batches(G, 6000, seed=3, batch=6000))).double().numpy()
    centred = w - w.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variances = s ** 2 / (len(w) - 1)
    found = ganspace(G, num=6, num_samples=6000, seed=3, batch=700)
    np.testing.assert_allclose(found.values, variances[:6], rtol=1e-5)
    separated = [k for k in range(5) if variances[k] / variances[k + 1] > 1.01 and (k == 0 or variances[k - 1] / variances[k] > 1.01)]
    assert separated, "the test needs at least one well separated component"
    assert abs_cos(found.directions[separated], vt[separated]).min() > 0.999
    np.testing.assert_allclose(found.scales, np.sqrt(variances[:6]), rtol=1e-5)


def test_streamed_moments_equal_the_in_memory_ones():
    torch.manual_seed(0)
    w = torch.randn(5000, 16, dtype=torch.float64) @ torch.randn(16, 16, dtype=torch.float64) + 300.0
    streamed = WMoments()
    for chunk in w.split(333):
        streamed.add(chunk)
    x = w.numpy()
    np.testing.assert_allclose(streamed.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(streamed.covariance, np.cov(x, rowvar=False), rtol=0, atol=1e-9 * np.abs(np.cov(x, rowvar=False)).max())


def test_mapped_samples_do_not_depend_on_the_batch_size(generators):
    G = generators["sg2_64"]
    one = torch.cat(list(mapped_w_batches(G, 900, seed=1, batch=900)))
    many = torch.cat(list(mapped_w_batches(G, 900, seed=1, batch=128)))
    torch.testing.assert_close(one, many, rtol=1e-5, atol=1e-5 * float(one.abs().max()))


def sg3_edit(G, alpha=2.0, layers=None, k=0):
    return edit_from(sefa(G, num=3, scale_samples=512), k, alpha, layers)


def test_alpha_zero_leaves_the_image_bit_identical(generators):
    for G in generators.values():
        plain = Session(latent_x=4.0, psi=0.7)
        edited = dataclasses.replace(plain, edits=[sg3_edit(G, alpha=0.0)])
        assert torch.equal(render_session(G, plain), render_session(G, edited))


def test_an_edit_moves_only_its_ws_range_by_alpha_sigma_d(generators):
    G = generators["sg3t_64"]
    edit = sg3_edit(G, alpha=1.5, layers=(2, 5))
    base = Session(latent_x=7.0, psi=0.6, mix_seed=3, mix_range=(4, 9))
    plain = session_ws(G, base)
    moved = session_ws(G, dataclasses.replace(base, edits=[edit]))
    changed = (moved != plain).any(dim=2)[0]
    assert changed.tolist() == [2 <= i < 5 for i in range(G.num_ws)]
    expected = 1.5 * edit.scale * torch.tensor(edit.direction)
    torch.testing.assert_close(moved[0, 2:5] - plain[0, 2:5], expected.expand(3, -1), rtol=0, atol=1e-5 * float(plain.abs().max()))


def test_edits_add_up(generators):
    G = generators["sg2_64"]
    dirs = sefa(G, num=3, scale_samples=512)
    ws = torch.zeros(1, G.num_ws, G.w_dim)
    both = apply_edits(ws, [edit_from(dirs, 0, 1.0), edit_from(dirs, 1, -2.0)])
    expected = dirs.scales[0] * dirs.directions[0] - 2.0 * dirs.scales[1] * dirs.directions[1]
    torch.testing.assert_close(both[0, 3], torch.from_numpy(expected.astype(np.float32)), rtol=1e-6, atol=1e-7)


def test_an_edited_frame_translates_and_rotates_as_the_model_does(generators):
    """Edit then move through the input transform == move the edited image, to the model's own equivariance."""
    G = generators["sg3t_64"]
    edit = sg3_edit(G, alpha=3.0)
    plain = Session(latent_x=2.0)
    edited = dataclasses.replace(plain, edits=[edit])
    t = 8 / 64
    for session in (plain, edited):
        still = render_session(G, session)
        shifted = render_session(G, dataclasses.replace(session, translate=(t, -t / 2)))
        ref, mask = apply_integer_translation(still, t, -t / 2)
        err = float(((ref - shifted) ** 2 * mask).sum())
        assert psnr_db(err, float(mask.sum())) > 70  # random weights are near-exactly translation-equivariant
    psnrs = []
    for session in (plain, edited):
        still = render_session(G, session)
        turned = render_session(G, dataclasses.replace(session, rotate_deg=30.0))
        ref, ref_mask = apply_fractional_rotation(still, math.radians(30.0))
        pseudo, pseudo_mask = apply_fractional_pseudo_rotation(turned, math.radians(30.0))
        mask = ref_mask * pseudo_mask
        psnrs.append(psnr_db(float(((ref - pseudo) ** 2 * mask).sum()), float(mask.sum())))
    assert psnrs[1] > 30 and psnrs[1] > psnrs[0] - 3  # the edit keeps the model's EQ-R
    assert not torch.equal(render_session(G, plain), render_session(G, edited))


def test_session_json_restores_the_edit(generators, tmp_path):
    G = generators["sg3t_64"]
    session = Session(latent_x=5.0, rotate_deg=20.0, edits=[sg3_edit(G, alpha=-1.25, layers=(3, 12), k=2)])
    session.save(tmp_path / "s.json")
    restored = Session.load(tmp_path / "s.json")
    assert restored.edits == session.edits
    assert torch.equal(render_session(G, restored), render_session(G, session))


@pytest.mark.parametrize("bad", [[{"alpha": 1}], [{"direction": [1, "x"], "alpha": 1, "scale": 1, "layers": [0, 2]}],
                                 [{"direction": [1.0], "alpha": 1, "scale": 0, "layers": [0, 2]}], 5])
def test_a_malformed_edit_in_a_session_is_refused(bad):
    with pytest.raises(EqvizError):
        Session.from_dict({**Session().to_dict(), "edits": bad})


def test_an_edit_for_another_width_is_refused_when_applied(generators):
    G = generators["sg2_64"]
    edit = Edit(direction=(32 ** -0.5,) * 32, alpha=1.0, scale=1.0, layers=(0, 2), label="x")
    with pytest.raises(EqvizError, match="w_dim 32"):
        session_ws(G, Session(edits=[edit]))


def test_direction_file_round_trip(generators, tmp_path):
    G = generators["sg3t_64"]
    found = ganspace(G, num=4, num_samples=2000, layers=(2, 9))
    save_directions(tmp_path / "d.npz", found)
    back = load_directions(tmp_path / "d.npz", G)
    assert np.array_equal(back.directions, found.directions) and np.array_equal(back.scales, found.scales)
    assert np.array_equal(back.values, found.values)
    assert (back.method, back.layers, back.model) == ("ganspace", (2, 9), found.model)


@pytest.mark.parametrize("shape", [(64,), (1, 64), (3, 64)])
def test_interfacegan_vectors_import_with_sigma_measured_on_the_model(generators, tmp_path, shape):
    G = generators["sg3t_64"]
    vectors = np.random.RandomState(0).randn(*shape) * 3
    np.save(tmp_path / "boundary.npy", vectors.astype(np.float32))
    found = load_directions(tmp_path / "boundary.npy", G)
    rows = vectors.reshape(-1, 64)
    assert found.method == "imported" and len(found) == len(rows) and found.layers == (1, 16)
    assert abs_cos(found.directions, rows).min() > 0.999999
    np.testing.assert_allclose(np.linalg.norm(found.directions, axis=1), 1, rtol=1e-6)
    w = torch.cat(list(mapped_w_batches(G, 4096))).double().numpy()
    sigma = (w @ found.directions.astype(np.float64).T).std(axis=0, ddof=1)
    np.testing.assert_allclose(found.scales, sigma, rtol=1e-4)


def test_a_file_for_another_model_is_refused(generators, tmp_path):
    save_directions(tmp_path / "sg2.npz", sefa(generators["sg2_64"], num=3, scale_samples=256))
    with pytest.raises(EqvizError, match="holds directions for a stylegan2 64x64 model .* not for this stylegan3-t"):
        load_directions(tmp_path / "sg2.npz", generators["sg3t_64"])


def test_the_same_architecture_with_other_weights_is_refused(generators, tmp_path, reference_dir):
    G = generators["sg2_64"]
    save_directions(tmp_path / "sg2.npz", sefa(G, num=3, scale_samples=256))
    other = load_generator(reference_dir / "pkl" / "sg2_64.pkl", which="G")  # the training copy: other weights
    with pytest.raises(EqvizError, match="not for this stylegan2 64x64 model"):
        load_directions(tmp_path / "sg2.npz", other)


@pytest.mark.parametrize("array, words", [
    (np.array([{"a": 1}], dtype=object), "type object; only plain numbers"),
    (np.zeros((2, 63), np.float32), "has shape"),
    (np.zeros((2, 3, 64), np.float32), "has shape"),
    (np.array([[np.nan] * 64]), "NaN"),
    (np.zeros((1, 64)), "length zero"),
])
def test_bad_vector_files_are_refused_in_one_sentence(generators, tmp_path, array, words):
    np.save(tmp_path / "v.npy", array, allow_pickle=True)
    with pytest.raises(EqvizError, match=words):
        load_directions(tmp_path / "v.npy", generators["sg3t_64"])


def test_a_header_claiming_a_huge_array_is_refused_before_reading(generators, tmp_path):
    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 7, 64)})
    with pytest.raises(EqvizError, match=r"declares an array of shape \[10000000, 64\] \(2.6 GB\), more than"):
        load_directions(path, generators["sg3t_64"])


def test_an_npz_with_an_object_array_or_a_huge_header_is_refused_before_reading(generators, tmp_path):
    G = generators["sg3t_64"]
    np.savez(tmp_path / "pickled.npz", format=np.array([{"run": "code"}], dtype=object))
    with pytest.raises(EqvizError, match="format.npy holds an array of type object"):
        load_directions(tmp_path / "pickled.npz", G)
    import zipfile
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z, z.open("directions.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 6, 512)})
    with pytest.raises(EqvizError, match=r"directions.npy declares an array of shape \[1000000, 512\]"):
        load_directions(tmp_path / "huge.npz", G)


def test_an_npz_that_is_not_a_direction_file_is_refused(generators, tmp_path):
    np.savez(tmp_path / "w.npz", w=np.zeros((1, 16, 64), np.float32))
    with pytest.raises(EqvizError, match="not an eqviz direction file"):
        load_directions(tmp_path / "w.npz", generators["sg3t_64"])


def test_ganspace_samples_classes_of_a_conditional_model(reference_dir):
    """The oracle draws the documented samples itself: z from default_rng([seed, 0]), classes uniform from
    default_rng([seed, 1]), one-hot; W's covariance eigenvectors are the directions."""
    G = load_generator(reference_dir / "pkl" / "sg3t_64_cond.pkl")
    z = np.random.default_rng([2, 0]).standard_normal((3000, G.z_dim))
    classes = np.random.default_rng([2, 1]).integers(G.c_dim, size=3000)
    assert len(set(classes.tolist())) == G.c_dim  # every class is drawn
    with torch.no_grad():
        w = G.mapping(torch.from_numpy(z), torch.from_numpy(np.eye(G.c_dim, dtype=np.float32)[classes]))[:, 0]
    values, vectors = np.linalg.eigh(np.cov(w.double().numpy(), rowvar=False))
    found = ganspace(G, num=3, num_samples=3000, seed=2, batch=512)
    np.testing.assert_allclose(found.values, values[::-1][:3], rtol=1e-5)
    np.testing.assert_allclose(np.abs((found.directions * vectors[:, ::-1][:, :3].T).sum(axis=1)), 1.0, atol=1e-4)


def test_a_direction_file_with_text_where_numbers_belong_is_refused(generators, tmp_path):
    G = generators["sg3t_64"]
    save_directions(tmp_path / "d.npz", sefa(G, num=2, scale_samples=256))
    entries = dict(np.load(tmp_path / "d.npz"))
    np.savez(tmp_path / "bad.npz", **{**entries, "scales": np.array(["a", "b"])})
    with pytest.raises(EqvizError, match="scales.npy holds a string field"):
        load_directions(tmp_path / "bad.npz", G)
