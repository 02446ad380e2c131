"""What a generator will cost before it is built: its parameters and one frame's activations.

A checkpoint declares its architecture in a few numbers, and a few numbers can describe a network
bigger than the machine. `generator_memory` prices a config from the same formulas the
constructors follow (the parameter count is exact: the tests compare it with built generators;
the activations count the largest layer's input, widened intermediate and output, for one frame in
float32, scaled by the share eqviz's ops keep alive at once), and `check_generator_memory` refuses
one whose process would peak over `max_memory`, through the one memory guard
(`networks.memory_guard`).

The peak is the larger of loading (the file's bytes, then three copies of the weights: decoded,
the built generator's own initial values, the copy into it) and rendering (the weights and one
frame), on top of the interpreter with torch and eqviz. `benchmarks/bench_memory_guard.py` measures
the peak RSS of `eqviz render` against this estimate for every reference checkpoint and NVIDIA's
full-capacity 256² and 1024² models; the constants below come from that run (2026-12-07, CPU):

    checkpoint        estimate   peak RSS              checkpoint        estimate   peak RSS
    sg2_64              289 MB     273 MB              stylegan2 256²     763 MB     766 MB
    sg3t_64             295 MB     304 MB              stylegan3-t 256²   761 MB     774 MB
    sg3t_64_cond        295 MB     305 MB              stylegan3-r 256²  1073 MB    1020 MB
    sg3r_64             306 MB     332 MB              stylegan2 1024²   1061 MB    1070 MB
                                                       stylegan3-t 1024² 1782 MB    1994 MB
                                                       stylegan3-r 1024² 3132 MB    2513 MB
"""
import dataclasses

from eqviz.errors import CheckpointError
from eqviz.networks.config import GeneratorConfig, MappingConfig, StyleGAN2Config
from eqviz.networks.memory_guard import check_memory
from eqviz.untrusted.messages import format_size

FLOAT32_BYTES = 4
RUNTIME_BYTES = 280 * 10**6  # Python, torch and eqviz before any checkpoint (measured 270-275 MB)
LOADED_WEIGHT_COPIES = 3     # beside the file's bytes: decoded tensors, the new generator's values, the copy
# Share of the textbook activation count alive at the peak layer, measured: StyleGAN3's fused filtered
# leaky ReLU never holds both widened copies (0.31-0.46 at 256² and 1024²); StyleGAN2 holds more than
# its largest layer (the skip images, upsampled copies and noise beside it: 1.34 at 1024²).
LIVE_ACTIVATIONS = {"stylegan2": 1.3, "stylegan3": 0.4}


@dataclasses.dataclass(frozen=True)
class GeneratorMemory:
    parameters: int          # elements of the state dict (parameters and buffers)
    activation_bytes: int    # estimated working memory of one frame alive at once, float32

    def peak_bytes(self, file_bytes: int = 0) -> int:
        """Estimated peak resident size of a process that loads this generator from a file of
        `file_bytes` and renders one frame."""
        weights = self.parameters * FLOAT32_BYTES
        loading = file_bytes + LOADED_WEIGHT_COPIES * weights
        return RUNTIME_BYTES + max(loading, weights + self.activation_bytes)


# ---- parameter counts, following the constructors ---------------------------------------------

def _fc(in_features: int, out_features: int) -> int:
    return in_features * out_features + out_features


def _mapping_parameters(z_dim: int, c_dim: int, w_dim: int, mapping: MappingConfig) -> int:
    embed = (w_dim if mapping.embed_features is None else mapping.embed_features) if c_dim > 0 else 0
    hidden = w_dim if mapping.layer_features is None else mapping.layer_features
    widths = [z_dim + embed] + [hidden] * (mapping.num_layers - 1) + [w_dim]
    count = _fc(c_dim, embed) if c_dim > 0 else 0
    count += sum(_fc(widths[i], widths[i + 1]) for i in range(mapping.num_layers))
    return count + (w_dim if mapping.w_avg_beta is not None else 0)


def _no_channels(config) -> CheckpointError:
    return CheckpointError(f"the checkpoint's channel_base {config.channel_base:g} leaves a layer of its "
                           f"{config.img_resolution}x{config.img_resolution} {config.kind} generator with no channels; "
                           "the file is damaged or crafted")


def _stylegan2_memory(config: StyleGAN2Config) -> GeneratorMemory:
    taps = len(config.resample_filter)
    filter_size = taps if taps >= 8 else taps * taps  # setup_filter keeps long 1-D filters separable
    k, w = config.kernel_size, config.w_dim
    resolutions = [2 ** i for i in range(2, config.img_resolution.bit_length())]
    channels = {r: min(config.channel_base // r, config.channel_max) for r in resolutions}
    if channels[config.img_resolution] < 1:
        raise _no_channels(config)

    def layer(cin, cout, res):
        noise = res * res + 1 if config.use_noise else 0
        return filter_size + _fc(w, cin) + cout * cin * k * k + noise + cout

    params, activations = 0, 0
    for res in resolutions:
        cout = channels[res]
        params += filter_size
        if res == 4:
            params += cout * res * res
        else:
            cin = channels[res // 2]
            params += layer(cin, cout, res)
            if config.architecture == "resnet":
                params += filter_size + cout * cin
            # input, the upsampled convolution (padded by the kernel and the filter), output
            activations = max(activations, cin * (res // 2) ** 2 + 2 * cout * (res + k + taps) ** 2 + cout * res * res)
        params += layer(cout, cout, res)
        if res == config.img_resolution or config.architecture == "skip":
            params += _fc(w, cout) + config.img_channels * cout + config.img_channels
    activations += 2 * config.img_channels * config.img_resolution ** 2  # the image and its upsampled copy
    params += _mapping_parameters(config.z_dim, config.c_dim, w, config.mapping)
    return GeneratorMemory(params, int(activations * LIVE_ACTIVATIONS["stylegan2"]) * FLOAT32_BYTES)


def _stylegan3_memory(config) -> GeneratorMemory:
    from eqviz.networks.stylegan3 import synthesis_geometry  # numpy only; the layers are not built

    input_geometry, layers = synthesis_geometry(config)
    if min(g.out_channels for g in layers) < 1 or input_geometry.channels < 1:
        raise _no_channels(config)
    c0, w = input_geometry.channels, config.w_dim
    params = c0 * c0 + _fc(w, 4) + 9 + 3 * c0
    activations = c0 * input_geometry.size ** 2 * 2
    for g in layers:
        k = 1 if g.is_torgb else config.conv_kernel
        params += _fc(w, g.in_channels) + g.out_channels * g.in_channels * k * k + g.out_channels + 1
        oversampling = 1 if g.is_torgb else config.lrelu_upsampling
        tmp_rate = max(g.in_sampling_rate, g.out_sampling_rate) * oversampling
        up, down = tmp_rate // g.in_sampling_rate, tmp_rate // g.out_sampling_rate
        up_taps = config.filter_size * up if up > 1 and not g.is_torgb else 1
        down_taps = config.filter_size * down if down > 1 and not g.is_torgb else 1
        radial = config.use_radial_filters and not g.is_critically_sampled
        params += (up_taps if up_taps > 1 else 0) + ((down_taps ** 2 if radial else down_taps) if down_taps > 1 else 0)
        widened = (g.in_size + k) * up + up_taps  # the upsampled signal the leaky ReLU runs on
        activations = max(activations, g.in_channels * g.in_size ** 2 + 2 * g.out_channels * widened ** 2
                          + g.out_channels * g.out_size ** 2)
    params += _mapping_parameters(config.z_dim, config.c_dim, w, config.mapping)
    return GeneratorMemory(params, int(activations * LIVE_ACTIVATIONS["stylegan3"]) * FLOAT32_BYTES)


def generator_memory(config: GeneratorConfig) -> GeneratorMemory:
    """Parameter count (exact) and one frame's activation memory (estimated) of a config."""
    return _stylegan2_memory(config) if isinstance(config, StyleGAN2Config) else _stylegan3_memory(config)


def check_generator_memory(config: GeneratorConfig, max_memory: int | None = None, source: str = "",
                           file_bytes: int = 0) -> GeneratorMemory:
    """The config's memory, or MemoryLimitError when loading it from a file of `file_bytes` and
    rendering a frame would peak over `max_memory` bytes (None: the machine's default); `source`
    (the file) starts the message."""
    memory = generator_memory(config)
    check_memory(f"{source + ': ' if source else ''}the {config.kind} generator this file declares "
                 f"({config.img_resolution}x{config.img_resolution}, {memory.parameters:,} parameters, "
                 f"{format_size(memory.activation_bytes)} of activations per frame)", memory.peak_bytes(file_bytes),
                 max_memory)
    return memory
