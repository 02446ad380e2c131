"""Hostile, damaged and wrong files: each is refused with one CheckpointError sentence, and no
payload ever runs (every payload would create a marker file; the tests check it never appears)."""
import builtins
import collections
import io
import os
import pickle
import subprocess

import numpy as np
import pytest
import torch

import eqviz.networks
from eqviz.networks.checkpoints.safe_unpickler import safe_load_pickle
from checkpoint_pickles import Persistent, dumps, from_inert


class CallOnLoad:
    """Pickles as REDUCE(func, args): unpickling calls func(*args)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class MarkerWriter:
    """A class whose construction creates the marker; a pickle of it names this test module."""

    def __init__(self, path):
        open(path, "w").close()


class ReducesToMarkerWriter:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return MarkerWriter, (self.path,)


class StorageFromBytes:
    """Pickles like a torch storage: REDUCE(torch.storage._load_from_bytes, (bytes,))."""

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return torch.storage._load_from_bytes, (self.data,)


class TensorOn:
    """Pickles like a tensor: REDUCE(torch._utils._rebuild_tensor_v2, (storage, ...))."""

    def __init__(self, storage):
        self.storage = storage

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, (self.storage, 0, (1,), (1,), False, collections.OrderedDict())


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load_error(path) -> str:
    with pytest.raises(eqviz.networks.CheckpointError) as info:
        eqviz.networks.load_generator(path)
    message = str(info.value)
    assert "\n" not in message  # one sentence a user reads on one line
    return message


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "payload-ran"
    yield path
    assert not path.exists(), "a pickle payload ran"


# ---- hostile payloads ---------------------------------------------------------------------------

def test_payloads_are_live_when_unpickled_normally(tmp_path):
    """Control: the payload style used below really runs under plain pickle."""
    path = tmp_path / "control"
    pickle.loads(pickle.dumps(CallOnLoad(builtins.exec, f"open({str(path)!r}, 'w').close()")))
    assert path.exists()


@pytest.mark.parametrize("payload, global_name", [
    (lambda m: CallOnLoad(os.system, f"touch {m}"), "system"),
    (lambda m: CallOnLoad(builtins.exec, f"open({str(m)!r}, 'w').close()"), "builtins.exec"),
    (lambda m: CallOnLoad(builtins.eval, f"open({str(m)!r}, 'w')"), "builtins.eval"),
    (lambda m: CallOnLoad(subprocess.call, ["touch", str(m)]), "subprocess.call"),
    (lambda m: ReducesToMarkerWriter(m), "MarkerWriter"),
])
def test_global_outside_allow_list_is_refused_by_name_before_it_runs(tmp_path, marker, payload, global_name):
    path = write(tmp_path, "evil.pkl", pickle.dumps({"G_ema": payload(marker)}, protocol=4))
    assert global_name in load_error(path)


def test_payload_inside_a_tensor_storage_is_refused(tmp_path, marker):
    buffer = io.BytesIO()
    torch.save(CallOnLoad(builtins.exec, f"open({str(marker)!r}, 'w').close()"), buffer,
               _use_new_zipfile_serialization=False)
    evil_tensor = TensorOn(StorageFromBytes(buffer.getvalue()))
    G = Persistent("Generator", {"_parameters": {"weight": evil_tensor}, "_buffers": {}, "_modules": {}})
    path = write(tmp_path, "evil.pkl", dumps({"G_ema": G}))
    message = load_error(path)
    assert "tensor storage" in message and "exec" in message


def _getattr_gadget(command: str) -> bytes:
    """getattr(__import__('os'), 'system')(command), hand-assembled: it never names os.system."""
    def text(s):
        b = s.encode()
        return b"X" + len(b).to_bytes(4, "little") + b
    return (b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\n" + text("os") + b"\x85R"
            + text("system") + b"\x86R" + text(command) + b"\x85R.")


def test_getattr_gadget_is_refused(tmp_path, marker):
    control = tmp_path / "control"
    pickle.loads(_getattr_gadget(f"touch {control}"))
    assert control.exists()
    path = write(tmp_path, "evil.pkl", _getattr_gadget(f"touch {marker}"))
    assert "builtins.getattr" in load_error(path)


def test_module_source_stored_in_a_persistent_object_is_never_executed(tmp_path, marker):
    G = Persistent("Generator", {"_init_kwargs": {}, "_modules": {}},
                   module_src=f"open({str(marker)!r}, 'w').close()\n")
    path = write(tmp_path, "evil.pkl", dumps({"G_ema": G}))
    load_error(path)


def test_numpy_reconstruct_of_a_non_array_subtype_is_refused(tmp_path):
    import numpy as np

    reconstruct = np.zeros(1).__reduce__()[0]
    path = write(tmp_path, "evil.pkl", pickle.dumps(CallOnLoad(reconstruct, collections.OrderedDict, (0,), b"b")))
    assert "plain arrays" in load_error(path)


def test_backward_hooks_on_a_tensor_are_refused(tmp_path):
    storage = torch.zeros(1).untyped_storage()
    hooks = collections.OrderedDict(a=1)
    evil = CallOnLoad(torch._utils._rebuild_tensor_v2, torch.storage.TypedStorage(wrap_storage=storage, dtype=torch.float32, _internal=True), 0, (1,), (1,), False, hooks)
    path = write(tmp_path, "hooks.pkl", pickle.dumps(evil, protocol=4))
    assert "hooks" in load_error(path)


def test_pickle_cannot_rewrite_our_classes_or_functions(tmp_path):
    from eqviz.networks.checkpoints import safe_unpickler

    # BUILD with slot state setattr()s onto whatever object is on the stack: here our EasyDict class
    # and our tensor-rebuild function. Both must refuse and stay as they were.
    for module, name, attr in [(b"dnnlib.util", b"EasyDict", b"__getattr__"),
                               (b"torch._utils", b"_rebuild_tensor_v2", b"__defaults__")]:
        data = (b"\x80\x02c" + module + b"\n" + name + b"\nN}X" + len(attr).to_bytes(4, "little") + attr
                + b"N" + b"s\x86b.")
        path = write(tmp_path, "build.pkl", data)
        assert "tries to modify eqviz's" in load_error(path)
    assert safe_unpickler.EasyDict.__getattr__ is not None
    assert safe_unpickler.rebuild_tensor.__defaults__ == (False, None, None)


# ---- damaged and wrong files --------------------------------------------------------------------

def test_truncated_reference_pickle_says_truncated(reference_dir, tmp_path):
    data = (reference_dir / "pkl" / "sg2_64.pkl").read_bytes()
    path = write(tmp_path, "half.pkl", data[: len(data) // 2])
    assert "truncated or corrupt" in load_error(path)


def test_missing_path(tmp_path):
    assert "nope.pkl does not exist" in load_error(tmp_path / "nope.pkl")


def test_directory(tmp_path):
    assert "is a folder" in load_error(tmp_path)


def test_empty_file(tmp_path):
    assert "is empty" in load_error(write(tmp_path, "empty.pkl", b""))


def test_png_file_is_named_as_an_image(tmp_path):
    from PIL import Image

    path = tmp_path / "picture.pkl"
    Image.new("RGB", (4, 4)).save(path, format="PNG")
    assert "PNG image" in load_error(path)


def test_torch_save_archive_is_named_as_a_zip(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, path)
    assert "zip archive" in load_error(path)


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    assert "not a checkpoint eqviz knows" in load_error(write(tmp_path, "noise.bin", bytes(range(7, 200))))


def test_pickle_of_a_list_is_not_a_checkpoint(tmp_path):
    assert "pickle of a list" in load_error(write(tmp_path, "list.pkl", pickle.dumps([1, 2, 3], protocol=4)))


def test_snapshot_without_a_generator_lists_what_it_holds(reference_dir, tmp_path):
    with open(reference_dir / "pkl" / "sg2_64.pkl", "rb") as f:
        inert = safe_load_pickle(f, "sg2_64")
    path = write(tmp_path, "d_only.pkl", dumps({"D": from_inert(inert["D"]), "training_set_kwargs": {}}))
    message = load_error(path)
    assert "holds no generator" in message and "D, training_set_kwargs" in message


def test_single_discriminator_pickle_is_not_a_generator(reference_dir, tmp_path):
    with open(reference_dir / "pkl" / "sg2_64.pkl", "rb") as f:
        inert = safe_load_pickle(f, "sg2_64")
    path = write(tmp_path, "d.pkl", dumps(from_inert(inert["D"])))
    assert "'Discriminator' network, not a generator" in load_error(path)


def test_progressive_gan_pickle_is_named(tmp_path):
    # GLOBAL 'tfutil Network', as Progressive GAN's pickles begin; refused before anything is built.
    path = write(tmp_path, "pggan.pkl", b"\x80\x02ctfutil\nNetwork\nq\x00)\x81q\x01}b.")
    assert "Progressive GAN" in load_error(path)


def test_generator_entry_that_is_not_a_network(tmp_path):
    path = write(tmp_path, "tuple.pkl", pickle.dumps({"G_ema": ({"z_dim": 1}, {})}, protocol=4))
    assert "generator entry is a tuple, not a network" in load_error(path)


class RewrittenAfterCreation(Persistent):
    """A persistent Generator followed by BUILD, as a pickle would rewrite an object it made."""

    def __reduce__(self):
        func, args = super().__reduce__()
        return func, args, {"state": {"_modules": {}}}


def test_network_module_cannot_be_rewritten_after_creation(tmp_path):
    G = RewrittenAfterCreation("Generator", {"_init_kwargs": {}, "_modules": {}})
    assert "tries to rewrite a network module" in load_error(write(tmp_path, "build.pkl", dumps({"G_ema": G})))


def _text(value: str) -> bytes:
    return b"\x8c" + bytes([len(value)]) + value.encode()


def test_generator_that_contains_itself_is_refused(tmp_path):
    # The loop goes through the memo: the Generator's _modules dict gets the Generator after it exists.
    data = (b"\x80\x04}\x94" + _text("G_ema") + b"\x94"
            + _text("torch_utils.persistence") + _text("_reconstruct_persistent_obj") + b"\x93\x94"
            + b"}\x94(" + _text("type") + _text("class") + _text("class_name") + _text("Generator") + _text("state")
            + b"}\x94(" + _text("_init_kwargs") + b"}" + _text("_modules") + b"}\x94uu\x85R\x94"
            + b"h\x05" + _text("synthesis") + b"h\x06s0s.")
    assert "'synthesis' contains itself" in load_error(write(tmp_path, "loop.pkl", data))


def test_unknown_network_class(tmp_path):
    net = Persistent("ProgressiveGenerator", {"_init_kwargs": {}, "_modules": {}})
    path = write(tmp_path, "unknown.pkl", dumps({"G_ema": net}))
    assert "'ProgressiveGenerator'" in load_error(path)


def _sg2_inert(reference_dir):
    with open(reference_dir / "pkl" / "sg2_64.pkl", "rb") as f:
        return safe_load_pickle(f, "sg2_64")["G_ema"]


def test_weight_with_wrong_shape_is_named(reference_dir, tmp_path):
    G = _sg2_inert(reference_dir)
    fc0 = G.children["mapping"].children["fc0"]
    fc0.state["_parameters"]["weight"] = torch.zeros(64, 63)
    path = write(tmp_path, "shape.pkl", dumps({"G_ema": from_inert(G)}))
    message = load_error(path)
    assert "mapping.fc0.weight has shape [64, 63]" in message and "[64, 64]" in message


def test_missing_weight_is_named(reference_dir, tmp_path):
    G = _sg2_inert(reference_dir)
    del G.children["mapping"].state["_buffers"]["w_avg"]
    path = write(tmp_path, "missing.pkl", dumps({"G_ema": from_inert(G)}))
    assert "missing mapping.w_avg" in load_error(path)


def test_kwargs_that_declare_another_architecture_do_not_fit_the_weights(reference_dir, tmp_path):
    G = _sg2_inert(reference_dir)
    G.state["_init_kwargs"] = dict(G.state["_init_kwargs"], img_resolution=32)
    path = write(tmp_path, "arch.pkl", dumps({"G_ema": from_inert(G)}))
    assert "do not fit the stylegan2 architecture" in load_error(path)


def test_setting_outside_its_range_is_named_before_anything_is_built(reference_dir, tmp_path):
    G = _sg2_inert(reference_dir)
    G.state["_init_kwargs"] = dict(G.state["_init_kwargs"], z_dim=-1)
    path = write(tmp_path, "negative.pkl", dumps({"G_ema": from_inert(G)}))
    assert "z_dim is -1, outside the range 0 to 16384" in load_error(path)


def test_unsupported_generator_kwarg_is_named(reference_dir, tmp_path):
    G = _sg2_inert(reference_dir)
    G.state["_init_kwargs"] = dict(G.state["_init_kwargs"], fancy_new_option=True)
    path = write(tmp_path, "kwarg.pkl", dumps({"G_ema": from_inert(G)}))
    assert "fancy_new_option" in load_error(path)


@pytest.mark.parametrize("static_kwargs, words", [
    (dict(architecture=np.array([1.0, 2.0])), "uses an array of shape [2] as its architecture"),
    (dict(mapping_func=np.zeros(3)), "mapping_func=an array of shape [3]"),
    (dict(fmap_base={"a": 1}), "fmap_base is a dict, not a number"),
])
def test_tensorflow_settings_of_the_wrong_type_are_one_sentence(tmp_path, static_kwargs, words):
    from test_checkpoint_tf import reference_generator, write_tf_pickle

    path = write_tf_pickle(tmp_path / "tf.pkl", reference_generator(1), reference_generator(2), static_kwargs=static_kwargs)
    assert words in load_error(path)


class RebuiltThenRestrided:
    """A tensor followed by BUILD((itself, 0, size, stride)): torch.Tensor.__setstate__ would set_() it
    to a zero-stride view of a billion elements over its 4 bytes."""

    def __reduce__(self):
        storage = torch.zeros(1).untyped_storage()
        typed = torch.storage.TypedStorage(wrap_storage=storage, dtype=torch.float32, _internal=True)
        return torch._utils._rebuild_tensor_v2, (typed, 0, (1,), (1,), False, collections.OrderedDict()), \
            (self, 0, (10 ** 9,), (0,))


def test_a_tensor_cannot_be_restrided_after_it_is_built(tmp_path):
    path = write(tmp_path, "restride.pkl", pickle.dumps({"G_ema": RebuiltThenRestrided()}, protocol=4))
    assert "tries to rewrite a tensor" in load_error(path)
