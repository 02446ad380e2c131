"""Legacy TensorFlow StyleGAN2 / StyleGAN2-ADA generators (dnnlib.tflib pickles) as config + weights.

Such a pickle is a tuple (G, D, Gs) of dnnlib.tflib Networks, each saved as a state dict with
`static_kwargs` (the constructor arguments), `variables` (a list of (name, numpy array)) and
`components` (sub-networks: the generator has `mapping` and `synthesis`). The variable names map
one-to-one onto NVIDIA's PyTorch StyleGAN2 keys; the differences are layouts:
  * dense weights are [in, out] in TF, [out, in] in PyTorch;
  * conv weights are [kh, kw, in, out] in TF, [out, in, kh, kw] in PyTorch, and the up-sampling
    convs (Conv0_up) were run as transposed convolutions, so their kernels are also flipped;
  * style (modulation) biases are stored minus their init value 1;
  * the noise inputs live in the synthesis network as noise0, noise1, ... ([1, 1, r, r]), numbered
    over the conv layers from 4x4 upwards; the constant input is [1, C, 4, 4].
StyleGAN1 pickles (AdaIN "StyleMod" layers) have a different architecture and are refused.
"""
import re

import numpy as np
import torch

from eqviz.networks.config import GeneratorConfig, checked_kwargs, config_from_init_kwargs
from eqviz.errors import CheckpointError
from eqviz.networks.checkpoints.safe_unpickler import TFNetwork
from eqviz.untrusted.messages import short_text

# Buffers the PyTorch constructor designs itself; the TF pickle has no variable for them.
CONSTRUCTOR_BUFFERS = re.compile(r".*\.resample_filter")

# TF static kwarg -> (where in NVIDIA's PyTorch init kwargs, default when absent).
_COMMON_KWARGS = {
    "latent_size": ("z_dim", 512),
    "label_size": ("c_dim", 0),
    "dlatent_size": ("w_dim", 512),
    "resolution": ("img_resolution", 1024),
    "num_channels": ("img_channels", 3),
}
_MAPPING_KWARGS = {
    "mapping_layers": ("num_layers", 8),
    "label_fmaps": ("embed_features", None),
    "mapping_fmaps": ("layer_features", None),
    "mapping_nonlinearity": ("activation", "lrelu"),
    "mapping_lrmul": ("lr_multiplier", 0.01),
}
_SYNTHESIS_KWARGS = {
    "fmap_max": ("channel_max", 512),
    "num_fp16_res": ("num_fp16_res", 0),
    "conv_clamp": ("conv_clamp", None),
    "architecture": ("architecture", "skip"),
    "resample_kernel": ("resample_filter", [1, 3, 3, 1]),
    "use_noise": ("use_noise", True),
    "nonlinearity": ("activation", "lrelu"),
}
# Kwargs that only steer training or sampling defaults; they do not change the weights' meaning.
_IGNORED_KWARGS = {"truncation_psi", "truncation_cutoff", "truncation_psi_val", "truncation_cutoff_val",
                   "style_mixing_prob", "structure", "randomize_noise", "is_template_graph"}
_EXPECTED_FUNCS = {"mapping_func": "G_mapping", "synthesis_func": "G_synthesis_stylegan2"}
MIN_VERSION = 4  # dnnlib.tflib network state version that stores components and build functions
MAX_COMPONENT_DEPTH = 8  # a generator nests its mapping and synthesis networks one level deep


def _dense(value):
    return value.T


def _conv(value):
    return value.transpose(3, 2, 0, 1)


def _flipped_conv(value):
    return value[::-1, ::-1].transpose(3, 2, 0, 1)


def _style_bias(value):
    return value + 1


def _identity(value):
    return value


# synthesis "<r>x<r>/<layer>/<variable>": TF layer name -> PyTorch sub-module, conv weight layout.
_SYNTHESIS_LAYERS = {"Conv": ("conv1", _conv), "Conv0_up": ("conv0", _flipped_conv),
                     "Conv1": ("conv1", _conv), "ToRGB": ("torgb", _conv)}
_LAYER_VARIABLES = {"bias": ("bias", _identity), "noise_strength": ("noise_strength", _identity),
                    "mod_weight": ("affine.weight", _dense), "mod_bias": ("affine.bias", _style_bias)}


def _is_text(value, text: str) -> bool:
    """value == text for a value from the file, which may be an array (whose == answers elementwise)."""
    return isinstance(value, str) and value == text


def _noise_layer(index: int) -> str:
    """noise0 feeds the 4x4 conv; then two per resolution (up-sampling conv0, then conv1)."""
    if index == 0:
        return "b4.conv1"
    level = (index + 5) // 2  # log2 of the resolution
    return f"b{2 ** level}.{'conv0' if index % 2 else 'conv1'}"


def _torch_key(name: str):
    """(PyTorch key, layout function) for one TF variable name, or None when it is not a known one."""
    if name == "dlatent_avg":
        return "mapping.w_avg", _identity
    if m := re.fullmatch(r"mapping/Dense(\d+)/(weight|bias)", name):
        return f"mapping.fc{m[1]}.{m[2]}", _dense if m[2] == "weight" else _identity
    if m := re.fullmatch(r"mapping/LabelEmbed/(weight|bias)", name):
        return f"mapping.embed.{m[1]}", _dense if m[1] == "weight" else _identity
    if name == "synthesis/4x4/Const/const":
        return "synthesis.b4.const", lambda v: v[0]
    if m := re.fullmatch(r"synthesis/noise(\d+)", name):
        return f"synthesis.{_noise_layer(int(m[1]))}.noise_const", lambda v: v[0, 0]
    if m := re.fullmatch(r"synthesis/(\d+)x\1/(\w+)/(\w+)", name):
        layer, variable = _SYNTHESIS_LAYERS.get(m[2]), m[3]
        fits_resolution = m[2] in ("Conv", "ToRGB") if m[1] == "4" else m[2] != "Conv"  # 4x4 has one conv
        if layer is not None and fits_resolution:
            if variable == "weight":
                return f"synthesis.b{m[1]}.{layer[0]}.weight", layer[1]
            if variable in _LAYER_VARIABLES:
                suffix, layout = _LAYER_VARIABLES[variable]
                return f"synthesis.b{m[1]}.{layer[0]}.{suffix}", layout
    return None


def collect_variables(net: TFNetwork) -> dict:
    """Every variable of a network and its components, named '<component>/<variable>' (each
    network visited once, at most MAX_COMPONENT_DEPTH deep)."""
    out = {}
    pending = [("", net, 0)]
    seen = set()
    while pending:
        prefix, net, depth = pending.pop()
        if id(net) in seen or depth > MAX_COMPONENT_DEPTH:
            raise CheckpointError("the TensorFlow network's components contain themselves or nest too deeply; the "
                                  "file is damaged or crafted")
        seen.add(id(net))
        variables = net.state.get("variables")
        if not isinstance(variables, (tuple, list, type(None))):
            raise CheckpointError("a TensorFlow network in this pickle has an unreadable variable list; the file is "
                                  "damaged")
        for entry in variables or ():
            if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str)
                    and len(entry[0]) <= 256):
                raise CheckpointError("a TensorFlow network in this pickle has an unreadable variable list; the file "
                                      "is damaged")
            out[prefix + entry[0]] = entry[1]
        components = net.state.get("components")
        if not isinstance(components, (dict, type(None))):
            raise CheckpointError("a TensorFlow network in this pickle has an unreadable component list; the file is "
                                  "damaged")
        for name, component in (components or {}).items():
            if not isinstance(component, TFNetwork):
                raise CheckpointError(f"TensorFlow component {short_text(name)} is not a network; the file is damaged")
            pending.append((prefix + name + "/", component, depth + 1))
    return out


def is_stylegan1(net: TFNetwork) -> bool:
    """StyleGAN1's G_style: AdaIN layers ('StyleMod' variables) instead of modulated convolutions."""
    if _is_text(net.state.get("build_func_name"), "G_style"):
        return True
    return any("/StyleMod/" in name for name in collect_variables(net))


def is_generator(net: TFNetwork) -> bool:
    components = net.state.get("components")
    return isinstance(components, dict) and {"mapping", "synthesis"} <= set(components)


def init_kwargs(static_kwargs: dict) -> dict:
    """NVIDIA's PyTorch StyleGAN2 Generator kwargs equivalent to the TF generator's static kwargs."""
    static_kwargs = checked_kwargs(static_kwargs, "TensorFlow generator")
    unknown = set(static_kwargs) - set(_COMMON_KWARGS) - set(_MAPPING_KWARGS) - set(_SYNTHESIS_KWARGS) \
        - _IGNORED_KWARGS - set(_EXPECTED_FUNCS) - {"fmap_base", "w_avg_beta", "dlatent_avg_beta"}
    if unknown:
        raise CheckpointError(f"the TensorFlow generator has the setting {sorted(unknown)[0]!r}, which eqviz does "
                              "not know; this generator variant is not supported")
    for key, expected in _EXPECTED_FUNCS.items():
        if not _is_text(static_kwargs.get(key, expected), expected):
            value = short_text(static_kwargs[key])
            raise CheckpointError(f"the TensorFlow generator uses {key}={value}; eqviz converts only StyleGAN2 "
                                  f"generators ({expected})")

    def convert(table):
        return {ours: static_kwargs.get(theirs, default) for theirs, (ours, default) in table.items()}

    kwargs = convert(_COMMON_KWARGS)
    mapping = convert(_MAPPING_KWARGS)
    beta = static_kwargs.get("w_avg_beta", static_kwargs.get("dlatent_avg_beta", 0.995))
    mapping["w_avg_beta"] = 1 if beta is None else beta  # TF's None meant "never update": a fixed average
    synthesis = convert(_SYNTHESIS_KWARGS)
    # TF channels at resolution r: fmap_base / (r / 2); PyTorch: channel_base / r.
    fmap_base = static_kwargs.get("fmap_base", 16384)
    if isinstance(fmap_base, (bool, np.bool_)) or not isinstance(fmap_base, (int, float, np.integer, np.floating)):
        raise CheckpointError(f"the TensorFlow generator's fmap_base is {short_text(fmap_base)}, not a number; the "
                              "file is damaged or crafted")
    synthesis["channel_base"] = fmap_base * 2
    synthesis["fused_modconv_default"] = "inference_only"
    return {**kwargs, "mapping_kwargs": mapping, **synthesis}


def generator_spec(net: TFNetwork) -> tuple[GeneratorConfig, dict]:
    """(config, PyTorch-named float32 tensors) for a TF StyleGAN2 generator; builds nothing."""
    if is_stylegan1(net):
        raise CheckpointError("this is a StyleGAN1 TensorFlow pickle (G_style); eqviz supports StyleGAN2 and "
                              "StyleGAN3 only, so convert it with a StyleGAN1 tool or use a newer checkpoint")
    if not is_generator(net):
        raise CheckpointError(f"the TensorFlow network {net.name!r} is not a generator (it has no "
                              "mapping and synthesis components)")
    version = net.state.get("version")
    if type(version) is not int or version < MIN_VERSION:
        raise CheckpointError(f"this TensorFlow pickle uses network format version {short_text(version)}; eqviz reads "
                              f"version {MIN_VERSION} and later (StyleGAN2 / StyleGAN2-ADA pickles)")
    static_kwargs = net.state.get("static_kwargs")
    static_kwargs = checked_kwargs({} if static_kwargs is None else static_kwargs, "TensorFlow generator")
    if not _is_text(static_kwargs.get("architecture", "skip"), "skip"):
        architecture = static_kwargs["architecture"]
        what = f"the {short_text(architecture)} architecture" if isinstance(architecture, str) \
            else f"{short_text(architecture)} as its architecture"
        raise CheckpointError(f"this TensorFlow generator uses {what}; eqviz converts only the default 'skip' "
                              "architecture of StyleGAN2")
    config = config_from_init_kwargs("stylegan2", init_kwargs(static_kwargs))

    tensors = {}
    for name, value in collect_variables(net).items():
        found = _torch_key(name)
        if found is None:
            raise CheckpointError(f"the TensorFlow generator has a variable {name!r} that eqviz cannot place in a "
                                  "StyleGAN2 generator; this variant is not supported")
        key, layout = found
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise CheckpointError(f"TensorFlow variable {name!r} is not a float array; the file is damaged")
        try:
            array = layout(value)
        except (IndexError, ValueError, TypeError) as exc:
            raise CheckpointError(f"TensorFlow variable {name!r} has shape {list(value.shape)}, which does not fit "
                                  f"its layer ({exc}); the file is damaged") from None
        tensors[key] = torch.from_numpy(np.array(array, dtype=np.float32, order="C"))  # keeps 0-d shapes
    return config, tensors

