"""The filter ops against NVIDIA's golden outputs (shared/reference/golden/ops.npz), for impl='ref' and 'fast'."""
import json

import numpy as np
import pytest
import torch

from eqviz.cuda_ops.bias_act import bias_act
from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu
from eqviz.cuda_ops.upfirdn2d import downsample2d, filter2d, setup_filter, upfirdn2d, upsample2d

OPS = {
    "upfirdn2d": upfirdn2d,
    "filter2d": filter2d,
    "upsample2d": upsample2d,
    "downsample2d": downsample2d,
    "bias_act": bias_act,
    "filtered_lrelu": filtered_lrelu,
}
NUM_CASES = 103
REL_TOL = 1e-5  # max |y - golden| / max |golden|: float32 summation-order noise (reference README)


@pytest.fixture(scope="module")
def golden(reference_dir):
    with open(reference_dir / "golden" / "ops.json") as fh:
        cases = json.load(fh)["cases"]
    arrays = np.load(reference_dir / "golden" / "ops.npz")
    return cases, {k: arrays[k] for k in arrays.files}


def run_case(case, arrays, impl):
    """Calls the op exactly as the golden case did: same tensors, same keyword params."""
    tensors = {name: None if key is None else torch.from_numpy(arrays[key])
               for name, key in case["keys"].items() if name != "y"}
    return OPS[case["op"]](**tensors, **case["params"], impl=impl)


def test_golden_file_has_every_case(golden):
    cases, _ = golden
    assert len(cases) == NUM_CASES
    assert {c["op"] for c in cases} == set(OPS)


@pytest.mark.parametrize("impl", ["ref", "fast"])
def test_every_golden_case_matches(golden, impl):
    cases, arrays = golden
    failures = []
    with torch.no_grad():
        for case in cases:
            y = run_case(case, arrays, impl)
            want = torch.from_numpy(arrays[case["keys"]["y"]])
            assert tuple(y.shape) == tuple(want.shape), f"{case['op']}.{case['index']:03d}: shape {tuple(y.shape)}"
            assert y.dtype == torch.float32
            rel = (y - want).abs().max().item() / max(want.abs().max().item(), 1e-30)
            if rel > REL_TOL:
                failures.append(f"{case['op']}.{case['index']:03d} ({case['desc']}): rel err {rel:.3g}")
    assert not failures, "\n".join(failures)


def test_fast_path_keeps_autograd_working(golden):
    """The fast paths work in place only when no gradient is needed."""
    cases, arrays = golden
    case = next(c for c in cases if c["op"] == "filtered_lrelu" and c["params"].get("clamp") is not None
                and c["keys"]["b"] is not None)
    x = torch.from_numpy(arrays[case["keys"]["x"]]).clone().requires_grad_(True)
    tensors = {n: None if k is None else torch.from_numpy(arrays[k]) for n, k in case["keys"].items() if n not in ("x", "y")}
    y_fast = filtered_lrelu(x, **tensors, **case["params"], impl="fast")
    y_ref = filtered_lrelu(x, **tensors, **case["params"], impl="ref")
    g_fast, = torch.autograd.grad(y_fast.square().sum(), x)
    g_ref, = torch.autograd.grad(y_ref.square().sum(), x)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-5, atol=1e-5 * g_ref.abs().max().item())


# ---- Argument checks: early, with the offending value in the message -------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: upfirdn2d(torch.zeros(3, 8, 8), None), r"4-D \[N, C, H, W\], got shape \(3, 8, 8\)"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8, dtype=torch.int32), None), "floating-point tensor, got torch.int32"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8), torch.ones(2, 2, 2)), r"got shape \(2, 2, 2\)"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8), torch.ones(4, dtype=torch.float64)), "float32.*torch.float64"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8), None, up=0), r"ints >= 1, got \[0, 0\]"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8), None, down=[2, 0]), r"ints >= 1, got \[2, 0\]"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8), None, padding=[1, 2, 3]), r"got \[1, 2, 3\]"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8), torch.ones(4), padding=-3), "output would be empty"),
    (lambda: upfirdn2d(torch.zeros(1, 1, 8, 8), None, impl="gpu"), "impl must be one of"),
    (lambda: bias_act(torch.zeros(2, 5), torch.zeros(4)), r"length x.shape\[1\] = 5, got \(4,\)"),
    (lambda: bias_act(torch.zeros(2, 5), act="gelu"), "act must be one of.*'gelu'"),
    (lambda: bias_act(torch.zeros(2, 5), clamp=-1), "clamp must be >= 0 or None, got -1.0"),
    (lambda: filtered_lrelu(torch.zeros(1, 3, 8, 8), up=0), "up must be an int >= 1, got 0"),
    (lambda: filtered_lrelu(torch.zeros(1, 3, 8, 8), b=torch.zeros(2)), r"length C = 3, got \(2,\)"),
    (lambda: filtered_lrelu(torch.zeros(1, 3, 8, 8), fu=torch.ones(1, 2, 3)), r"fu must be .* got shape \(1, 2, 3\)"),
])
def test_bad_arguments_are_rejected_with_the_value(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_setup_filter_normalises_and_expands_short_filters():
    f = setup_filter([1, 3, 3, 1])
    assert f.shape == (4, 4) and f.dtype == torch.float32
    assert f.sum().item() == pytest.approx(1.0)
    assert f[1, 2].item() == 9 / 64


def test_setup_filter_keeps_long_filters_separable_and_applies_gain():
    f = setup_filter(torch.ones(12), gain=4)
    assert f.shape == (12,)
    assert f.sum().item() == pytest.approx(2.0)  # a separable filter carries sqrt(gain) per pass
