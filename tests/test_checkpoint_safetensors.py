"""eqviz's .safetensors format: written atomically, read without pickle, bit-exact round trip."""
import json
import pickle

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import eqviz.networks


@pytest.fixture(scope="module")
def sg3t(reference_dir):
    return eqviz.networks.load_generator(reference_dir / "pkl" / "sg3t_64.pkl")


@pytest.fixture(scope="module")
def sg2(reference_dir):
    return eqviz.networks.load_generator(reference_dir / "pkl" / "sg2_64.pkl")


def test_file_carries_config_kind_and_format_version(tmp_path, sg3t):
    path = eqviz.networks.save_generator(sg3t, tmp_path / "g.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert meta["format"] == "eqviz-generator" and meta["format_version"] == "1"
    assert meta["kind"] == "stylegan3-t"
    assert json.loads(meta["config"]) == sg3t.config.to_dict()
    assert keys == set(sg3t.state_dict())


@pytest.mark.parametrize("which", ["sg2", "sg3t"])
def test_round_trip_renders_bit_identically(tmp_path, request, which):
    G = request.getfixturevalue(which)
    G2 = eqviz.networks.load_generator(eqviz.networks.save_generator(G, tmp_path / "g.safetensors"))
    assert G2.config == G.config and not G2.training
    assert all(torch.equal(G2.state_dict()[k], v) for k, v in G.state_dict().items())
    z = torch.from_numpy(np.random.RandomState(3).randn(1, G.z_dim))
    c = torch.zeros([1, 0])
    with torch.no_grad():
        assert torch.equal(G2(z, c, truncation_psi=0.7), G(z, c, truncation_psi=0.7))


def test_loading_never_unpickles(tmp_path, sg2, monkeypatch):
    path = eqviz.networks.save_generator(sg2, tmp_path / "g.safetensors")

    def no_pickle(*args, **kwargs):
        raise AssertionError("safetensors loading must not unpickle")

    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(torch, "load", no_pickle)
    assert eqviz.networks.load_generator(path).kind == "stylegan2"


def test_save_replaces_existing_file_and_leaves_no_temp_files(tmp_path, sg2):
    target = tmp_path / "g.safetensors"
    target.write_bytes(b"old")
    eqviz.networks.save_generator(sg2, target)
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]
    assert eqviz.networks.inspect_checkpoint(target).file_format == "eqviz safetensors"


def test_failed_save_keeps_the_old_file(tmp_path, sg2, monkeypatch):
    target = tmp_path / "g.safetensors"
    target.write_bytes(b"old")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("eqviz.networks.checkpoints.safe_format.save_file", disk_full)
    with pytest.raises(OSError):
        eqviz.networks.save_generator(sg2, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]


def test_save_wants_the_safetensors_suffix(tmp_path, sg2):
    with pytest.raises(eqviz.networks.CheckpointError, match=r"\.safetensors"):
        eqviz.networks.save_generator(sg2, tmp_path / "g.pkl")


def test_foreign_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "sd.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(eqviz.networks.CheckpointError, match="without eqviz's generator description"):
        eqviz.networks.load_generator(path)


def test_newer_format_version_is_refused(tmp_path, sg2):
    path = eqviz.networks.save_generator(sg2, tmp_path / "g.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(path), metadata={**meta, "format_version": "2"})
    with pytest.raises(eqviz.networks.CheckpointError, match="format version '2'"):
        eqviz.networks.load_generator(path)


def test_truncated_safetensors_file_is_refused(tmp_path, sg2):
    path = eqviz.networks.save_generator(sg2, tmp_path / "g.safetensors")
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(eqviz.networks.CheckpointError, match="not a readable .safetensors file"):
        eqviz.networks.load_generator(path)


def test_weights_that_do_not_fit_the_saved_config_are_refused(tmp_path, sg2):
    path = eqviz.networks.save_generator(sg2, tmp_path / "g.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    config = json.loads(meta["config"])
    config["channel_max"] = 32
    save_file(tensors, str(path), metadata={**meta, "config": json.dumps(config)})
    with pytest.raises(eqviz.networks.CheckpointError, match="has shape .* but the declared architecture needs"):
        eqviz.networks.load_generator(path)
