"""The pycuda kernels on a real GPU: against a float64 textbook oracle, NVIDIA's goldens,
bitwise repeatability, stream ordering with PyTorch, and whole generators.

Skipped cleanly without a CUDA GPU or pycuda.
"""
import json
import math
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from eqviz.cuda_ops.fallback import WARNED_ONCE

pytestmark = pytest.mark.cuda


def _kernels_or_skip():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to PyTorch")
    try:
        import pycuda.driver  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"pycuda not importable: {exc}")
    from eqviz.cuda_ops import pycuda_kernels

    if not pycuda_kernels.available(torch.device("cuda", 0)):
        from eqviz.cuda_ops.backend_status import describe_backend

        pytest.fail(f"GPU and pycuda present but no kernels: {describe_backend('cuda:0')}")
    return pycuda_kernels


@pytest.fixture(scope="module")
def kernels():
    return _kernels_or_skip()


DEV = torch.device("cuda", 0)


# ---- Plain textbook oracle in float64 on the CPU ------------------------------------------------

def textbook_upfirdn2d(x, f, up, down, padding, flip_filter, gain):
    """Zero insertion, padding (negative crops), dense 2-D convolution, decimation."""
    x = x.double().cpu()
    n, c, h, w = x.shape
    z = torch.zeros(n, c, h * up, w * up, dtype=torch.float64)
    z[:, :, ::up, ::up] = x
    z = F.pad(z, list(padding))
    f = torch.ones(1, 1, dtype=torch.float64) if f is None else f.double().cpu()
    f2 = torch.outer(f, f) if f.ndim == 1 else f
    f2 = f2 * gain
    if not flip_filter:
        f2 = f2.flip([0, 1])
    y = F.conv2d(z.reshape(n * c, 1, *z.shape[2:]), f2[None, None])[:, :, ::down, ::down]
    return y.reshape(n, c, *y.shape[2:])


def textbook_filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp, flip_filter):
    x = x.double().cpu()
    if b is not None:
        x = x + b.double().cpu()[None, :, None, None]
    x = textbook_upfirdn2d(x, fu, up, 1, padding, flip_filter, up * up)
    x = torch.where(x < 0, x * slope, x) * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return textbook_upfirdn2d(x, fd, 1, down, [0, 0, 0, 0], flip_filter, 1.0)


ACTS = {
    "linear": lambda v, a: v,
    "relu": lambda v, a: torch.relu(v),
    "lrelu": lambda v, a: torch.where(v < 0, v * a, v),
    "tanh": lambda v, a: torch.tanh(v),
    "sigmoid": lambda v, a: torch.sigmoid(v),
    "elu": lambda v, a: F.elu(v),
    "selu": lambda v, a: F.selu(v),
    "softplus": lambda v, a: F.softplus(v),
    "swish": lambda v, a: torch.sigmoid(v) * v,
}


def textbook_bias_act(x, b, dim, act, alpha, gain, clamp):
    x = x.double().cpu()
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.double().cpu().reshape(shape)
    x = ACTS[act](x, alpha) * gain
    return x if clamp is None else x.clamp(-clamp, clamp)


def assert_close_to_scale(y, ref, what):
    """max |y - ref| <= 1e-5 * max(1, max |ref|), every element written and finite."""
    assert y.shape == ref.shape, f"{what}: shape {tuple(y.shape)} != {tuple(ref.shape)}"
    y = y.double().cpu()
    assert torch.isfinite(y).all(), f"{what}: non-finite output"
    scale = max(1.0, ref.abs().max().item())
    err = (y - ref).abs().max().item()
    assert err <= 1e-5 * scale, f"{what}: max abs err {err:.3g} > 1e-5 * {scale:.3g}"
    return err / scale


# ---- Case lists --------------------------------------------------------------------------------

def _filter(rng, taps, two_d):
    shape = (taps, taps + (1 if two_d == "rect" else 0)) if two_d else (taps,)
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def upfirdn2d_cases():
    rng = np.random.default_rng(1)
    cases = []
    for up, down, taps, two_d in [(1, 1, 4, True), (2, 1, 4, True), (1, 2, 4, True), (1, 1, 12, False),
                                  (2, 1, 12, False), (1, 2, 12, False), (4, 1, 24, False), (2, 2, 7, False),
                                  (3, 2, 5, True), (1, 1, 1, False), (2, 3, 6, "rect"), (4, 1, 47, True),
                                  (1, 4, 9, False)]:
        for flip in (False, True):
            h, w = int(rng.integers(5, 80)), int(rng.integers(5, 80))
            pad = [int(v) for v in rng.integers(-2, taps + 2, size=4)]
            cases.append(dict(shape=(2, 3, h, w), up=up, down=down, taps=taps, two_d=two_d, flip=flip, pad=pad,
                              gain=float(rng.uniform(0.5, 4)), seed=int(rng.integers(1 << 30))))
    return cases


def filtered_lrelu_cases():
    rng = np.random.default_rng(2)
    cases = []
    for up, down, fu_taps, fd_taps, fu_2d, fd_2d in [(2, 2, 12, 12, False, False), (4, 2, 24, 12, False, False),
                                                      (2, 2, 12, 12, False, True), (4, 2, 24, 12, False, True),
                                                      (2, 1, 7, 3, False, False), (1, 2, 1, 12, False, False),
                                                      (2, 2, 6, 6, True, True), (3, 2, 9, 5, True, False),
                                                      (1, 1, 1, 1, False, False)]:
        for flip, clamp, bias in ((False, 256.0, True), (True, 0.3, False), (False, None, True)):
            h, w = int(rng.integers(6, 90)), int(rng.integers(6, 90))
            pad = [int(v) for v in rng.integers(-3, fu_taps + 3, size=4)]
            cases.append(dict(shape=(2, 5, h, w), up=up, down=down, fu=(fu_taps, fu_2d), fd=(fd_taps, fd_2d),
                              pad=pad, flip=flip, clamp=clamp, bias=bias, gain=float(rng.uniform(0.5, 2)),
                              slope=float(rng.uniform(0, 0.5)), seed=int(rng.integers(1 << 30))))
    return cases


def _valid(in_size, up, pad0, pad1, taps, down):
    return (in_size * up + pad0 + pad1 - taps + down) // down >= 1


# ---- Kernels against the oracle ---------------------------------------------------------------

@pytest.mark.parametrize("case", upfirdn2d_cases(), ids=lambda c: f"up{c['up']}down{c['down']}t{c['taps']}"
                         f"{'2d' if c['two_d'] else 's'}{'F' if c['flip'] else ''}")
def test_upfirdn2d_matches_textbook(kernels, case):
    rng = np.random.default_rng(case["seed"])
    x = torch.from_numpy(rng.standard_normal(case["shape"]).astype(np.float32))
    f = _filter(rng, case["taps"], case["two_d"])
    fw, fh = f.shape[-1], f.shape[0]
    pad = case["pad"]
    if not (_valid(x.shape[3], case["up"], pad[0], pad[1], fw, case["down"])
            and _valid(x.shape[2], case["up"], pad[2], pad[3], fh, case["down"])):
        pad = [fw, fw, fh, fh]
    y = kernels.upfirdn2d(x.to(DEV), f.to(DEV), case["up"], case["down"], pad, case["flip"], case["gain"])
    ref = textbook_upfirdn2d(x, f, case["up"], case["down"], pad, case["flip"], case["gain"])
    assert_close_to_scale(y, ref, f"upfirdn2d {case}")


@pytest.mark.parametrize("case", filtered_lrelu_cases(), ids=lambda c: f"up{c['up']}down{c['down']}"
                         f"fu{c['fu'][0]}{'2d' if c['fu'][1] else 's'}fd{c['fd'][0]}{'2d' if c['fd'][1] else 's'}")
def test_filtered_lrelu_matches_textbook(kernels, case):
    rng = np.random.default_rng(case["seed"])
    x = torch.from_numpy(rng.standard_normal(case["shape"]).astype(np.float32))
    fu = _filter(rng, *case["fu"])
    fd = _filter(rng, *case["fd"])
    b = torch.from_numpy(rng.standard_normal(case["shape"][1]).astype(np.float32)) if case["bias"] else None
    pad = case["pad"]
    tmp_w = x.shape[3] * case["up"] + pad[0] + pad[1] - fu.shape[-1] + 1
    tmp_h = x.shape[2] * case["up"] + pad[2] + pad[3] - fu.shape[0] + 1
    if min(tmp_w - fd.shape[-1], tmp_h - fd.shape[0]) < 0:
        pad = [fu.shape[-1] + fd.shape[-1]] * 2 + [fu.shape[0] + fd.shape[0]] * 2
    args = (case["up"], case["down"], pad, case["gain"], case["slope"], case["clamp"], case["flip"])
    y = kernels.filtered_lrelu(x.to(DEV), fu.to(DEV), fd.to(DEV), None if b is None else b.to(DEV), *args)
    ref = textbook_filtered_lrelu(x, fu, fd, b, *args)
    assert_close_to_scale(y, ref, f"filtered_lrelu {case}")


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("shape,dim", [((4, 7, 9, 11), 1), ((3, 513), 1), ((6, 5, 17), 2), ((1000003,), 0)])
def test_bias_act_matches_textbook(kernels, act, shape, dim):
    rng = np.random.default_rng(hash((act, shape)) & 0xFFFF)
    x = torch.from_numpy((rng.standard_normal(shape) * 4).astype(np.float32))
    b = torch.from_numpy(rng.standard_normal(shape[dim]).astype(np.float32))
    for bias, alpha, gain, clamp in ((b, 0.2, math.sqrt(2), None), (None, 0.1, 0.7, 1.5), (b, 0.3, 1.0, 0.0)):
        y = kernels.bias_act(x.to(DEV), None if bias is None else bias.to(DEV), dim, act, alpha, gain, clamp)
        ref = textbook_bias_act(x, bias, dim, act, alpha, gain, clamp)
        assert_close_to_scale(y, ref, f"bias_act {act} {shape} clamp={clamp}")


def test_filters_too_large_to_fuse_run_as_separate_kernels_with_one_warning(kernels):
    rng = np.random.default_rng(13)
    x = torch.from_numpy(rng.standard_normal((1, 2, 24, 24)).astype(np.float32))
    fu = torch.from_numpy(rng.standard_normal((64, 64)).astype(np.float32))
    fd = torch.from_numpy(rng.standard_normal((64, 64)).astype(np.float32))
    b = torch.from_numpy(rng.standard_normal(2).astype(np.float32))
    args = (2, 2, [63, 63, 63, 63], 1.1, 0.2, None, False)
    assert kernels.filtered_lrelu_geometry(fu, fd, 2, 2) is None
    WARNED_ONCE.discard(("filtered_lrelu unfused",))
    with pytest.warns(RuntimeWarning, match="separate generic kernels"):
        y = kernels.filtered_lrelu(x.to(DEV), fu.to(DEV), fd.to(DEV), b.to(DEV), *args)
    assert_close_to_scale(y, textbook_filtered_lrelu(x, fu, fd, b, *args), "unfused filtered_lrelu")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_compute_in_float32_and_round_once(kernels, dtype, monkeypatch):
    """float16 runs the _f16 kernels (16-bit loads and stores); bfloat16 the float32 ones on a copy."""
    launched = []
    function = kernels.kernel_function
    monkeypatch.setattr(kernels, "kernel_function", lambda module, name, generic: launched.append(name) or
                        function(module, name, generic))
    rng = np.random.default_rng(11)
    x = torch.from_numpy(rng.standard_normal((2, 6, 40, 40)).astype(np.float32)).to(dtype)
    b = torch.from_numpy(rng.standard_normal(6).astype(np.float32)).to(dtype)
    fu = torch.from_numpy(rng.standard_normal(12).astype(np.float32))
    fd = torch.from_numpy(rng.standard_normal((12, 12)).astype(np.float32))
    args = (2, 2, [11, 10, 11, 10], math.sqrt(2), 0.2, 256.0, False)
    y = kernels.filtered_lrelu(x.to(DEV), fu.to(DEV), fd.to(DEV), b.to(DEV), *args)
    assert y.dtype == dtype
    ref = textbook_filtered_lrelu(x.float(), fu, fd, b.float(), *args)
    expected = ref.to(dtype).double()  # the float32 answer, rounded once to the half type
    ulp = 2.0 ** (-10 if dtype == torch.float16 else -7)
    assert (y.double().cpu() - expected).abs().max().item() <= 2 * ulp * ref.abs().max().item()
    z = kernels.bias_act(x.to(DEV), b.to(DEV), 1, "lrelu", 0.2, math.sqrt(2), None)
    assert z.dtype == dtype
    assert torch.allclose(z.double().cpu(), textbook_bias_act(x.float(), b.float(), 1, "lrelu", 0.2, math.sqrt(2), None),
                          rtol=2 * ulp, atol=0)
    native = dtype == torch.float16
    assert launched and all(name.endswith(kernels.HALF_SUFFIX) == native for name in launched), launched


def test_filtered_lrelu_without_filters_is_bias_act(kernels):
    x = torch.randn(2, 3, 16, 16, device=DEV)
    b = torch.randn(3, device=DEV)
    y = kernels.filtered_lrelu(x, None, None, b, 1, 1, [0, 0, 0, 0], 1.0, 1.0, 256.0, False)
    ref = textbook_filtered_lrelu(x, None, None, b, 1, 1, [0, 0, 0, 0], 1.0, 1.0, 256.0, False)
    assert_close_to_scale(y, ref, "ToRGB-like filtered_lrelu")


def test_nvcc_builds_the_kernels_when_the_fatbin_is_unusable(kernels, tmp_path, monkeypatch):
    from eqviz.cuda_ops import backend_status

    if shutil.which("nvcc") is None:
        pytest.skip("nvcc not on PATH")
    broken = tmp_path / "broken.fatbin"
    broken.write_bytes(b"not a fatbin")
    monkeypatch.setattr(backend_status, "FATBIN", broken)
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    backend_status.clear_cache()
    try:
        with pytest.warns(RuntimeWarning, match="fatbin unusable"):
            backend = backend_status.resolve(DEV)
        assert backend.kind == "nvcc", backend.describe()
        rng = np.random.default_rng(9)
        x = torch.from_numpy(rng.standard_normal((1, 4, 30, 30)).astype(np.float32))
        fu = torch.from_numpy(rng.standard_normal(12).astype(np.float32))
        fd = torch.from_numpy(rng.standard_normal((12, 12)).astype(np.float32))
        args = (2, 2, [11, 10, 11, 10], math.sqrt(2), 0.2, 256.0, False)
        y = kernels.filtered_lrelu(x.to(DEV), fu.to(DEV), fd.to(DEV), None, *args)
        assert_close_to_scale(y, textbook_filtered_lrelu(x, fu, fd, None, *args), "nvcc-built filtered_lrelu")
    finally:
        backend_status.clear_cache()


# ---- NVIDIA's goldens through the public ops with impl='cuda' ---------------------------------

def test_ops_goldens_with_cuda_impl(kernels, reference_dir):
    from eqviz.cuda_ops.bias_act import bias_act
    from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu
    from eqviz.cuda_ops.upfirdn2d import downsample2d, filter2d, upfirdn2d, upsample2d

    ops = dict(upfirdn2d=upfirdn2d, filter2d=filter2d, upsample2d=upsample2d, downsample2d=downsample2d,
               bias_act=bias_act, filtered_lrelu=filtered_lrelu)
    spec = json.loads((reference_dir / "golden" / "ops.json").read_text())
    data = np.load(reference_dir / "golden" / "ops.npz")
    worst = 0.0
    for case in spec["cases"]:
        tensors = {name: None if key is None else torch.from_numpy(data[key]).to(DEV)
                   for name, key in case["keys"].items() if name != "y"}
        y = ops[case["op"]](**tensors, **case["params"], impl="cuda")
        ref = torch.from_numpy(data[case["keys"]["y"]]).double()
        worst = max(worst, assert_close_to_scale(y, ref, f"{case['op']}.{case['index']:03d} {case['desc']}"))
    print(f"ops goldens: {len(spec['cases'])} cases, worst max abs err / scale = {worst:.3g}")


# ---- Determinism and stream ordering ----------------------------------------------------------

def test_kernels_are_bitwise_repeatable(kernels):
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((2, 16, 52, 52)).astype(np.float32)).to(DEV)
    fu = torch.from_numpy(rng.standard_normal(24).astype(np.float32)).to(DEV)
    fd = torch.from_numpy(rng.standard_normal((12, 12)).astype(np.float32)).to(DEV)
    b = torch.from_numpy(rng.standard_normal(16).astype(np.float32)).to(DEV)
    runs = [kernels.filtered_lrelu(x, fu, fd, b, 4, 2, [-2, -5, -2, -5], math.sqrt(2), 0.2, 256.0, False)
            for _ in range(5)]
    runs += [kernels.upfirdn2d(x, fd, 2, 1, [6, 5, 6, 5], False, 4.0) for _ in range(2)]
    for a, b_ in zip(runs[:4], runs[1:5]):
        assert torch.equal(a, b_)
    assert torch.equal(runs[5], runs[6])


def test_torch_and_kernels_order_on_the_default_stream_without_sync(kernels):
    """torch writes -> kernel reads -> torch reads, many times over, no synchronisation."""
    x = torch.zeros(8, 64, 128, 128, device=DEV)
    b = torch.zeros(64, device=DEV)
    expected = []
    outs = []
    for step in range(200):
        x.fill_(float(step % 7) - 3.0)          # torch writes
        b.fill_(0.5)
        y = kernels.bias_act(x, b, 1, "lrelu", 0.25, 2.0, None)  # kernel reads x, writes y
        outs.append(y.sum())                     # torch reads y
        v = float(step % 7) - 3.0 + 0.5
        expected.append((v if v > 0 else v * 0.25) * 2.0 * x.numel())
    got = torch.stack(outs).cpu().double()
    assert torch.allclose(got, torch.tensor(expected, dtype=torch.float64), rtol=1e-5)


def test_launch_from_a_side_stream_is_ordered(kernels):
    side = torch.cuda.Stream(DEV)
    with torch.cuda.stream(side):
        results = []
        for step in range(50):
            x = torch.full((4, 8, 256, 256), float(step), device=DEV)
            y = kernels.bias_act(x, None, 1, "linear", 0.0, 1.0, None)
            results.append(y.mean())
        got = torch.stack(results)
    torch.cuda.synchronize()
    assert torch.equal(got.cpu(), torch.arange(50, dtype=torch.float32))


# ---- Whole generators -------------------------------------------------------------------------

@pytest.fixture
def exact_float32(monkeypatch):
    """No TF32 in convolutions and matmuls, so differences come from the filter ops alone."""
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)


@pytest.mark.parametrize("model", ["sg3t_64", "sg3r_64", "sg2_64"])
def test_whole_generator_with_kernels_matches_without(kernels, reference_dir, monkeypatch, exact_float32, model):
    from eqviz.cuda_ops.dispatch import default_impl
    from eqviz.networks import load_generator

    launches = []
    launch = kernels.launch_kernel
    monkeypatch.setattr(kernels, "launch_kernel", lambda x, function, *rest: launches.append(1) or launch(x, function, *rest))
    G = load_generator(reference_dir / "pkl" / f"{model}.pkl", device=DEV)
    z = torch.from_numpy(np.random.RandomState(7).randn(4, G.z_dim).astype(np.float32)).to(DEV)
    c = torch.zeros(4, G.c_dim, device=DEV)
    images, counts = {}, {}
    for impl in ("fast", "cuda"):
        launches.clear()
        with default_impl(impl):
            images[impl] = G(z, c, truncation_psi=0.7, noise_mode="const").double().cpu()
        counts[impl] = len(launches)
    assert counts["fast"] == 0 and counts["cuda"] > 0, counts
    scale = max(1.0, images["fast"].abs().max().item())
    err = (images["cuda"] - images["fast"]).abs().max().item()
    print(f"{model}: {counts['cuda']} kernel launches; whole-generator max abs diff cuda vs fast = {err:.3g} "
          f"(scale {scale:.3g})")
    assert err <= 1e-4 * scale


@pytest.mark.parametrize("model", ["sg3t_64", "sg2_64"])
def test_synthesis_with_kernels_matches_nvidia_render_goldens(kernels, reference_dir, exact_float32, model):
    from eqviz.cuda_ops.dispatch import default_impl
    from eqviz.networks import load_generator

    golden = np.load(reference_dir / "golden" / f"{model}_render.npz")
    G = load_generator(reference_dir / "pkl" / f"{model}.pkl", device=DEV)
    worst = 0.0
    for i in range(len(golden["seed"])):
        if G.supports_input_transform:
            G.synthesis.input.transform.copy_(torch.from_numpy(golden["transform"][i]))
        ws = torch.from_numpy(golden["ws"][i:i + 1]).to(DEV)
        with default_impl("cuda"):
            img = G.synthesis(ws, noise_mode=str(golden["noise_mode"][i]))
        ref = torch.from_numpy(golden["img"][i:i + 1]).double()
        scale = max(1.0, ref.abs().max().item())
        err = (img.double().cpu() - ref).abs().max().item()
        worst = max(worst, err / scale)
        assert err <= 1e-4 * scale, f"case {i}: max abs err {err:.3g}"
    print(f"{model}: synthesis with kernels vs NVIDIA goldens, worst max abs err / scale = {worst:.3g}")
