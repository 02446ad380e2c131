"""Legacy TensorFlow StyleGAN2 pickles: converted onto our StyleGAN2 by variable name.

The test writes its own TF-format pickle: it draws random weights into one of our generators,
lays them out as TensorFlow stored them (written here independently of the converter: [in, out]
dense weights, [kh, kw, in, out] convs, flipped up-sampling kernels, style biases minus 1, noise
buffers numbered noise0.. in the synthesis network) inside dnnlib.tflib Network stand-ins, and
checks that loading gives back exactly the generator the weights came from.
"""
import numpy as np
import pytest
import torch

import eqviz.networks
from eqviz.networks.build import build_generator
from eqviz.networks.config import config_from_init_kwargs
from checkpoint_pickles import EasyDict, Network, dumps, rename_globals

TF_KWARGS = dict(latent_size=16, dlatent_size=16, label_size=3, resolution=16, num_channels=3,
                 mapping_layers=2, fmap_base=64, fmap_max=32, truncation_psi=0.5, structure="auto")


def reference_generator(seed: int) -> torch.nn.Module:
    """Our StyleGAN2 with the PyTorch equivalent of TF_KWARGS and random weights everywhere."""
    config = config_from_init_kwargs("stylegan2", dict(
        z_dim=16, w_dim=16, c_dim=3, img_resolution=16, img_channels=3,
        mapping_kwargs=dict(num_layers=2, w_avg_beta=0.995), channel_base=128, channel_max=32,
        num_fp16_res=0, conv_clamp=None, fused_modconv_default="inference_only"))
    G = build_generator(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, value in G.state_dict().items():
            if not key.endswith("resample_filter"):
                # Multiples of 2^-10, so TF's "style bias - 1" layout round-trips exactly in float32.
                value.copy_(torch.round(torch.randn(value.shape, generator=gen) * 1024) / 1024)
    return G


def tf_layout(G) -> dict:
    """{component: [(tf variable name, array)]} holding G's weights the way TF StyleGAN2 stored them."""
    sd = {k: v.numpy().astype(np.float32) for k, v in G.state_dict().items()}
    out = {"": [("dlatent_avg", sd["mapping.w_avg"])], "mapping": [], "synthesis": []}
    for i in range(2):
        out["mapping"] += [(f"Dense{i}/weight", sd[f"mapping.fc{i}.weight"].T),
                           (f"Dense{i}/bias", sd[f"mapping.fc{i}.bias"])]
    out["mapping"] += [("LabelEmbed/weight", sd["mapping.embed.weight"].T), ("LabelEmbed/bias", sd["mapping.embed.bias"])]
    syn = out["synthesis"]
    syn.append(("4x4/Const/const", sd["synthesis.b4.const"][None]))
    noise_index = 0
    for res in (4, 8, 16):
        layers = [("conv1", "Conv")] if res == 4 else [("conv0", "Conv0_up"), ("conv1", "Conv1")]
        for ours, theirs in layers:
            p = f"synthesis.b{res}.{ours}."
            weight = sd[p + "weight"].transpose(2, 3, 1, 0)  # [out, in, kh, kw] -> [kh, kw, in, out]
            if theirs == "Conv0_up":
                weight = weight[::-1, ::-1]
            syn += [(f"{res}x{res}/{theirs}/weight", np.ascontiguousarray(weight)),
                    (f"{res}x{res}/{theirs}/bias", sd[p + "bias"]),
                    (f"{res}x{res}/{theirs}/noise_strength", sd[p + "noise_strength"]),
                    (f"{res}x{res}/{theirs}/mod_weight", sd[p + "affine.weight"].T),
                    (f"{res}x{res}/{theirs}/mod_bias", sd[p + "affine.bias"] - 1),
                    (f"noise{noise_index}", sd[p + "noise_const"][None, None])]
            noise_index += 1
        p = f"synthesis.b{res}.torgb."
        syn += [(f"{res}x{res}/ToRGB/weight", np.ascontiguousarray(sd[p + "weight"].transpose(2, 3, 1, 0))),
                (f"{res}x{res}/ToRGB/bias", sd[p + "bias"]),
                (f"{res}x{res}/ToRGB/mod_weight", sd[p + "affine.weight"].T),
                (f"{res}x{res}/ToRGB/mod_bias", sd[p + "affine.bias"] - 1)]
    return out


def tf_network(name: str, variables: dict, static_kwargs: dict, build_func_name="G_main", version=4,
               build_module_src="raise SystemExit('build code must never run')\n") -> Network:
    def net(net_name, own, components, func):
        return Network(dict(version=version, name=net_name, static_kwargs=EasyDict(static_kwargs),
                            components=EasyDict(components), build_module_src=build_module_src,
                            build_func_name=func, variables=own))
    components = {"mapping": net("G_mapping", variables["mapping"], {}, "G_mapping"),
                  "synthesis": net("G_synthesis", variables["synthesis"], {}, "G_synthesis_stylegan2")}
    return net(name, variables[""], components, build_func_name)


def discriminator() -> Network:
    return Network(dict(version=4, name="D", static_kwargs=EasyDict(), components=EasyDict(), build_module_src="",
                        build_func_name="D_stylegan2", variables=[("4x4/Dense0/weight", np.zeros((2, 2), np.float32))]))


def write_tf_pickle(path, G_train, G_ema, **overrides):
    kwargs = {**TF_KWARGS, **overrides.pop("static_kwargs", {})}
    snapshot = (tf_network("G", tf_layout(G_train), kwargs, **overrides), discriminator(),
                tf_network("Gs", tf_layout(G_ema), kwargs, **overrides))
    # Real TF pickles were written by numpy 1.x with pickle protocol 3.
    path.write_bytes(rename_globals(dumps(snapshot, protocol=3), "numpy._core.multiarray", "numpy.core.multiarray"))
    return path


@pytest.fixture(scope="module")
def generators():
    return reference_generator(1), reference_generator(2)


def test_converted_gs_equals_the_generator_its_weights_came_from(tmp_path, generators):
    G_train, G_ema = generators
    path = write_tf_pickle(tmp_path / "tf.pkl", G_train, G_ema)
    assert b"numpy.core.multiarray" in path.read_bytes()
    G = eqviz.networks.load_generator(path)
    assert G.config == G_ema.config
    for key, value in G_ema.state_dict().items():
        torch.testing.assert_close(G.state_dict()[key], value, rtol=0, atol=0, msg=key)
    z = torch.from_numpy(np.random.RandomState(0).randn(2, 16))
    c = torch.eye(3)[[0, 2]]
    for noise_mode in ("const", "none"):
        torch.testing.assert_close(G(z, c, truncation_psi=0.7, noise_mode=noise_mode),
                                   G_ema(z, c, truncation_psi=0.7, noise_mode=noise_mode), rtol=0, atol=0)


def test_which_g_converts_the_training_generator(tmp_path, generators):
    G_train, G_ema = generators
    G = eqviz.networks.load_generator(write_tf_pickle(tmp_path / "tf.pkl", G_train, G_ema), which="G")
    assert torch.equal(G.state_dict()["synthesis.b16.conv0.weight"], G_train.state_dict()["synthesis.b16.conv0.weight"])


def test_inspect_names_tensorflow_format_and_discriminator(tmp_path, generators):
    info = eqviz.networks.inspect_checkpoint(write_tf_pickle(tmp_path / "tf.pkl", *generators))
    assert info.file_format == "NVIDIA TensorFlow pickle (legacy)"
    assert (info.kind, info.img_resolution, info.c_dim, info.num_ws) == ("stylegan2", 16, 3, 6)
    assert [(n.name, n.class_name) for n in info.skipped] == [("D", "D")]


def test_stylegan1_pickle_is_refused_as_unsupported(tmp_path, generators):
    G = generators[1]
    layout = tf_layout(G)
    layout["synthesis"] = [("4x4/Const/const", np.zeros((1, 32, 4, 4), np.float32)),
                           ("4x4/Const/StyleMod/weight", np.zeros((16, 64), np.float32))]
    net = tf_network("Gs", layout, {"structure": "linear", "resolution": 16}, build_func_name="G_style", version=3)
    path = tmp_path / "sg1.pkl"
    path.write_bytes(dumps((net, discriminator(), net), protocol=3))
    with pytest.raises(eqviz.networks.CheckpointError, match="StyleGAN1"):
        eqviz.networks.load_generator(path)


@pytest.mark.parametrize("change, message", [
    (dict(version=3), "format version 3"),
    (dict(static_kwargs=dict(architecture="resnet")), "'resnet' architecture"),
    (dict(static_kwargs=dict(mystery_knob=1)), "mystery_knob"),
])
def test_unsupported_tensorflow_variants_are_named(tmp_path, generators, change, message):
    path = write_tf_pickle(tmp_path / "tf.pkl", *generators, **change)
    with pytest.raises(eqviz.networks.CheckpointError, match=message):
        eqviz.networks.load_generator(path)


def test_unknown_tensorflow_variable_is_named(tmp_path, generators):
    G_ema = generators[1]
    layout = tf_layout(G_ema)
    layout["synthesis"].append(("8x8/Attention/weight", np.zeros((2, 2), np.float32)))
    net = tf_network("Gs", layout, TF_KWARGS)
    path = tmp_path / "tf.pkl"
    path.write_bytes(dumps(net, protocol=3))
    with pytest.raises(eqviz.networks.CheckpointError, match="'synthesis/8x8/Attention/weight'"):
        eqviz.networks.load_generator(path)
