"""Loading NVIDIA's PyTorch pickles: the reference snapshots, numpy 1.x pickles, bare and
stylegan2-ada-pytorch generators; checked against NVIDIA's own weights and renders."""
import numpy as np
import pytest
import torch

import eqviz.networks
from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle
from checkpoint_pickles import EasyDict, dumps, from_inert, rename_globals

MODELS = ("sg2_64", "sg3t_64", "sg3r_64", "sg3t_64_cond")
KINDS = {"sg2_64": "stylegan2", "sg3t_64": "stylegan3-t", "sg3r_64": "stylegan3-r", "sg3t_64_cond": "stylegan3-t"}


def pkl(reference_dir, model):
    return reference_dir / "pkl" / f"{model}.pkl"


def read_inert(path):
    with open(path, "rb") as f:
        return safe_load_pickle(f, str(path))


@pytest.mark.parametrize("model", MODELS)
def test_reference_pickle_loads_as_eval_float32_without_grad(reference_dir, model):
    G = eqviz.networks.load_generator(pkl(reference_dir, model))
    assert G.kind == KINDS[model]
    assert not G.training
    tensors = list(G.state_dict(keep_vars=True).values())
    assert all(t.dtype == torch.float32 and not t.requires_grad for t in tensors)
    assert (G.img_resolution, G.z_dim, G.w_dim) == (64, 64, 64)
    assert G.c_dim == (5 if model == "sg3t_64_cond" else 0)


@pytest.mark.parametrize("model", ["sg2_64", "sg3t_64"])
def test_default_loads_g_ema_whose_weights_equal_nvidia_state_dict(reference_dir, model):
    expected = np.load(reference_dir / "weights" / f"{model}.npz")
    state = eqviz.networks.load_generator(pkl(reference_dir, model)).state_dict()
    assert sorted(state) == sorted(expected.files)
    for key in expected.files:
        np.testing.assert_array_equal(state[key].numpy(), expected[key], err_msg=key)


def test_which_g_loads_the_training_generator_that_differs_from_g_ema(reference_dir):
    expected = np.load(reference_dir / "weights" / "sg3t_64.npz")
    G = eqviz.networks.load_generator(pkl(reference_dir, "sg3t_64"), which="G")
    differing = [k for k in expected.files if not np.array_equal(G.state_dict()[k].numpy(), expected[k])]
    # README: G = G_ema parameters + noise, buffers identical.
    assert "mapping.fc0.weight" in differing
    assert "synthesis.input.freqs" not in differing


def test_numpy1_pickle_with_numpy_core_globals_loads_identically(reference_dir, tmp_path):
    data = pkl(reference_dir, "sg3t_64").read_bytes()
    old = rename_globals(data, "numpy._core.multiarray", "numpy.core.multiarray")
    assert b"numpy._core" not in old and b"numpy.core.multiarray" in old
    path = tmp_path / "numpy1.pkl"
    path.write_bytes(old)
    a = eqviz.networks.load_generator(path).state_dict()
    b = eqviz.networks.load_generator(pkl(reference_dir, "sg3t_64")).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_bare_pickled_generator_loads(reference_dir, tmp_path):
    inert = read_inert(pkl(reference_dir, "sg2_64"))
    path = tmp_path / "bare.pkl"
    path.write_bytes(dumps(from_inert(inert["G_ema"])))
    G = eqviz.networks.load_generator(path)
    expected = np.load(reference_dir / "weights" / "sg2_64.npz")
    np.testing.assert_array_equal(G.state_dict()["synthesis.b64.torgb.weight"].numpy(),
                                  expected["synthesis.b64.torgb.weight"])
    with pytest.raises(eqviz.networks.CheckpointError, match="holds no G "):
        eqviz.networks.load_generator(path, which="G")


def test_stylegan2_ada_pytorch_dialect_with_nested_synthesis_kwargs_loads(reference_dir, tmp_path):
    # stylegan2-ada-pytorch's Generator nests synthesis kwargs and defaults to no clamp / no FP16.
    inert = read_inert(pkl(reference_dir, "sg2_64"))
    G_ema = from_inert(inert["G_ema"])
    kwargs = dict(G_ema.state["_init_kwargs"])
    synthesis = EasyDict({k: kwargs.pop(k) for k in ("channel_base", "channel_max", "num_fp16_res", "conv_clamp")})
    kwargs.pop("fused_modconv_default")
    G_ema.state["_init_kwargs"] = EasyDict(kwargs, synthesis_kwargs=synthesis)
    path = tmp_path / "ada.pkl"
    path.write_bytes(dumps({"G_ema": G_ema, "training_set_kwargs": None}))
    G = eqviz.networks.load_generator(path)
    assert G.kind == "stylegan2" and G.config.conv_clamp == 256 and G.config.channel_base == 2048
    ref = eqviz.networks.load_generator(pkl(reference_dir, "sg2_64"))
    z = torch.from_numpy(np.random.RandomState(5).randn(1, 64))
    c = torch.zeros([1, 0])
    torch.testing.assert_close(G(z, c), ref(z, c), rtol=0, atol=0)


def test_stylegan3_r_is_told_apart_from_t_by_its_kwargs(reference_dir):
    G = eqviz.networks.load_generator(pkl(reference_dir, "sg3r_64"))
    assert G.kind == "stylegan3-r" and G.config.conv_kernel == 1 and G.config.use_radial_filters


def _render_golden_case(G, golden, i):
    cutoff = None if golden["cutoff"][i] < 0 else int(golden["cutoff"][i])
    z = torch.from_numpy(golden["z"][i : i + 1])
    c = torch.from_numpy(golden["c"][i : i + 1])
    if G.supports_input_transform:
        G.synthesis.input.transform.copy_(torch.from_numpy(golden["transform"][i]))
    ws = G.mapping(z, c, truncation_psi=float(golden["psi"][i]), truncation_cutoff=cutoff)
    return ws, G.synthesis(ws, noise_mode=str(golden["noise_mode"][i]))


# One case per model (2 shared CPU cores): truncated with a cutoff; for StyleGAN3 also rotated and translated.
@pytest.mark.parametrize("model, cases", [("sg2_64", [4]), ("sg3t_64", [3])])
def test_loaded_pickle_renders_nvidia_golden_images(reference_dir, model, cases):
    golden = np.load(reference_dir / "golden" / f"{model}_render.npz")
    G = eqviz.networks.load_generator(pkl(reference_dir, model))
    with torch.no_grad():
        for i in cases:
            ws, img = _render_golden_case(G, golden, i)
            np.testing.assert_allclose(ws[0].numpy(), golden["ws"][i], rtol=0, atol=1e-5)
            ref = golden["img"][i]
            err = np.abs(img[0].numpy() - ref).max()
            assert err <= 1e-4 * np.abs(ref).max(), f"case {i}: max abs error {err}"


def test_inspect_reports_architecture_and_snapshot_contents(reference_dir):
    info = eqviz.networks.inspect_checkpoint(pkl(reference_dir, "sg3t_64_cond"))
    assert info.kind == "stylegan3-t" and info.kind_label == "StyleGAN3-T"
    assert (info.img_resolution, info.z_dim, info.w_dim, info.c_dim, info.num_ws) == (64, 64, 64, 5, 16)
    assert info.param_count == 511_637  # README: every tensor of G_ema's state dict
    assert info.supports_input_transform
    assert info.file_format == "NVIDIA PyTorch pickle"
    assert info.generators == ("G_ema", "G")
    assert [(n.name, n.class_name) for n in info.skipped] == [("D", "Discriminator"), ("augment_pipe", "AugmentPipe")]
    assert info.training_set_kwargs["resolution"] == 64


@pytest.mark.parametrize("model, params", [("sg2_64", 361_704), ("sg3t_64", 507_157), ("sg3r_64", 335_339)])
def test_inspect_counts_parameters_like_nvidia(reference_dir, model, params):
    info = eqviz.networks.inspect_checkpoint(pkl(reference_dir, model))
    assert info.param_count == params
    assert info.supports_input_transform == (model != "sg2_64")
    assert info.num_ws == (10 if model == "sg2_64" else 16)


def test_unknown_which_is_a_clear_error(reference_dir):
    with pytest.raises(eqviz.networks.EqvizError, match="which must be 'G_ema' or 'G'"):
        eqviz.networks.load_generator(pkl(reference_dir, "sg2_64"), which="D")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(reference_dir):
    with pytest.raises(eqviz.networks.EqvizError, match="no CUDA GPU"):
        eqviz.networks.load_generator(pkl(reference_dir, "sg2_64"), device="cuda")
