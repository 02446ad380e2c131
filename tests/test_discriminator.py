"""eqviz's StyleGAN2 discriminator against NVIDIA's: the reference snapshots' D (golden logits and block
features in ../shared/reference), and discriminators NVIDIA's code built in other architectures
(tests/data/discriminator_nvidia.*: orig, skip, conditional, grayscale, cmap_dim, 2-channel minibatch
stddev, clamping, frozen layers), plus the loading errors a user can meet."""
import json
import pickle
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import checkpoint_pickles

DATA = Path(__file__).parent / "data"


def relative_error(got: torch.Tensor, want: np.ndarray) -> float:
    return float(np.abs(got.detach().numpy() - want).max() / np.abs(want).max())


@pytest.mark.parametrize("model", ["sg2_64", "sg3t_64"])
def test_reference_snapshot_discriminator_matches_nvidia_logits_and_block_features(reference_dir, model):
    from eqviz.networks import load_discriminator

    golden = np.load(reference_dir / "golden" / f"{model}_disc.npz")
    D = load_discriminator(reference_dir / "pkl" / f"{model}.pkl")
    img, c = torch.from_numpy(golden["img"]), torch.from_numpy(golden["c"])
    assert relative_error(D(img, c), golden["logits"]) < 1e-5
    features = D.block_features(img)
    assert sorted(features) == sorted(k[len("feat_"):] for k in golden.files if k.startswith("feat_"))
    for name, x in features.items():
        assert relative_error(x, golden[f"feat_{name}"]) < 1e-5, name


@pytest.mark.parametrize("model", ["sg3r_64", "sg3t_64_cond"])
def test_every_reference_snapshot_discriminator_loads_with_all_its_weights(reference_dir, model):
    from eqviz.networks import load_discriminator
    from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle

    with open(reference_dir / "pkl" / f"{model}.pkl", "rb") as f:
        saved = safe_load_pickle(f, model)["D"].state_tensors()
    D = load_discriminator(reference_dir / "pkl" / f"{model}.pkl")
    for key, value in D.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert len(D.state_dict()) == len(saved)
    c = torch.eye(5)[:4] if D.c_dim else None
    assert D(torch.zeros([4, 3, 64, 64]), c).shape == (4, 1)


def _nvidia_cases():
    return json.loads((DATA / "discriminator_nvidia.json").read_text())["cases"]


def _recipe_discriminator(name, case):
    """Our D from NVIDIA's constructor kwargs, weights drawn with the recipe the oracle used."""
    from eqviz.networks.discriminator import Discriminator
    from eqviz.networks.discriminator_config import discriminator_config

    D = Discriminator(discriminator_config(case["init_kwargs"])).eval().requires_grad_(False)
    state = D.state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == case["state_keys"]
    for key, value in state.items():
        if not key.endswith("resample_filter"):
            draw = np.random.RandomState(zlib.crc32(f"{name}/{key}".encode())).standard_normal(tuple(value.shape))
            value.copy_(torch.from_numpy((draw * (0.3 if "bias" in key else 1.0)).astype(np.float32)))
    return D


@pytest.mark.parametrize("name", list(_nvidia_cases()))
def test_discriminator_of_each_architecture_matches_nvidia(name):
    case = _nvidia_cases()[name]
    oracle = np.load(DATA / "discriminator_nvidia.npz")
    D = _recipe_discriminator(name, case)
    kw = case["init_kwargs"]
    shape = [4, kw["img_channels"], kw["img_resolution"], kw["img_resolution"]]
    img = torch.from_numpy(np.random.RandomState(case["img_seed"]).standard_normal(shape).astype(np.float32))
    img = img.clamp(-1.5, 1.5)
    c = torch.from_numpy(oracle[f"{name}/c"])
    assert relative_error(D(img, c if D.c_dim else None), oracle[f"{name}/logits"]) < 1e-4
    features = D.block_features(img)
    for key in oracle.files:
        if key.startswith(f"{name}/feat_"):
            assert relative_error(features[key.split("feat_")[1]], oracle[key]) < 1e-4, key


def test_minibatch_stddev_equals_per_group_standard_deviation_in_numpy():
    from eqviz.networks.discriminator import minibatch_stddev

    x = torch.randn(6, 4, 3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = minibatch_stddev(x, group_size=3, num_channels=2).numpy()
    xn = x.numpy()
    for i in range(6):
        group = xn[i % 2::2]  # NVIDIA's groups: samples i, i + N/G, ...
        for f in range(2):
            want = np.sqrt(group[:, 2 * f:2 * f + 2].var(axis=0) + 1e-8).mean()
            np.testing.assert_allclose(y[i, 4 + f], want, rtol=1e-12)
    np.testing.assert_array_equal(y[:, :4], xn)


def test_minibatch_stddev_refuses_a_batch_that_does_not_fill_its_groups():
    from eqviz.networks.discriminator import minibatch_stddev

    with pytest.raises(ValueError, match="multiple of 4"):
        minibatch_stddev(torch.zeros(6, 2, 4, 4), group_size=4, num_channels=1)


def test_conditional_discriminator_asks_for_a_label(reference_dir):
    from eqviz.networks import load_discriminator

    D = load_discriminator(reference_dir / "pkl" / "sg3t_64_cond.pkl")
    with pytest.raises(ValueError, match=r"class label c of shape \[N, 5\]"):
        D(torch.zeros([1, 3, 64, 64]))


def test_stylegan2_ada_discriminator_defaults_to_no_clamp():
    from eqviz.networks.discriminator_config import discriminator_config

    kwargs = dict(c_dim=0, img_resolution=32, img_channels=3)
    assert discriminator_config(kwargs).conv_clamp == 256
    assert discriminator_config(kwargs, ada_defaults=True).conv_clamp is None


def _one_line_checkpoint_error(path, match):
    from eqviz.networks import CheckpointError, load_discriminator

    with pytest.raises(CheckpointError, match=match) as info:
        load_discriminator(path)
    assert "\n" not in str(info.value)


def test_snapshot_without_discriminator_says_which_files_carry_one(reference_dir, tmp_path):
    from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle

    with open(reference_dir / "pkl" / "sg2_64.pkl", "rb") as f:
        snapshot = safe_load_pickle(f, "sg2_64")
    path = tmp_path / "g_only.pkl"
    path.write_bytes(checkpoint_pickles.dumps({"G_ema": checkpoint_pickles.from_inert(snapshot["G_ema"])}))
    _one_line_checkpoint_error(path, "holds no discriminator.*network-snapshot")


def test_safetensors_file_has_no_discriminator(reference_dir, tmp_path):
    from eqviz.networks import load_generator, save_generator

    path = save_generator(load_generator(reference_dir / "pkl" / "sg2_64.pkl"), tmp_path / "g.safetensors")
    _one_line_checkpoint_error(path, "holds only the generator")


def test_discriminator_with_unknown_kwarg_is_refused(reference_dir, tmp_path):
    from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle

    with open(reference_dir / "pkl" / "sg2_64.pkl", "rb") as f:
        snapshot = safe_load_pickle(f, "sg2_64")
    snapshot["D"].state["_init_kwargs"]["epilogue_kwargs"]["mbstd_mode"] = "x"
    path = tmp_path / "odd.pkl"
    path.write_bytes(checkpoint_pickles.dumps({k: checkpoint_pickles.from_inert(v) for k, v in snapshot.items()}))
    _one_line_checkpoint_error(path, "epilogue kwargs include 'mbstd_mode'")


def test_discriminator_with_a_wrong_weight_shape_is_refused(reference_dir, tmp_path):
    from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle

    with open(reference_dir / "pkl" / "sg2_64.pkl", "rb") as f:
        snapshot = safe_load_pickle(f, "sg2_64")
    fc = snapshot["D"].state["_modules"]["b4"].state["_modules"]["fc"].state["_parameters"]
    fc["weight"] = fc["weight"].t().contiguous()  # as many weights, transposed: [1024, 64] for [64, 1024]
    path = tmp_path / "bad.pkl"
    path.write_bytes(checkpoint_pickles.dumps({k: checkpoint_pickles.from_inert(v) for k, v in snapshot.items()}))
    _one_line_checkpoint_error(path, r"b4.fc.weight has shape \[1024, 64\]")


def test_hostile_discriminator_pickle_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (__import__("os").system, (f"touch {marker}",))

    path = tmp_path / "hostile.pkl"
    path.write_bytes(pickle.dumps({"G_ema": None, "D": Payload()}))
    _one_line_checkpoint_error(path, "os.system|posix.system")
    assert not marker.exists()


def test_declared_size_is_counted_without_building_and_a_bigger_declaration_is_refused(reference_dir, tmp_path):
    from eqviz.networks.discriminator import Discriminator
    from eqviz.networks.discriminator_config import discriminator_config, discriminator_tensor_elements
    from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle

    for case in _nvidia_cases().values():
        config = discriminator_config(case["init_kwargs"])
        assert discriminator_tensor_elements(config) == sum(t.numel() for t in Discriminator(config).state_dict().values())
    with open(reference_dir / "pkl" / "sg2_64.pkl", "rb") as f:
        snapshot = safe_load_pickle(f, "sg2_64")
    snapshot["D"].state["_init_kwargs"].update(channel_base=1 << 40, channel_max=1 << 20)  # ~10^13 weights
    path = tmp_path / "huge.pkl"
    path.write_bytes(checkpoint_pickles.dumps({k: checkpoint_pickles.from_inert(v) for k, v in snapshot.items()}))
    _one_line_checkpoint_error(path, "declare .* weights but the file holds 367,233")
