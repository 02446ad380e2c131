"""The fast CPU paths (polyphase, separable, channels-last) against the textbook ops in float64.

The fast paths only reorder sums, so they must agree with the float64 textbook result to
float32 rounding. Rounding errors of a sum are bounded by the sum of the magnitudes of its terms,
so the bound is relative to the same op run on |x|, |b| and |taps| (random taps of mixed sign
cancel, which would make max|output| a misleading scale):
|fast - textbook| <= REL_TOL * max(textbook on magnitudes).
"""
import math
import random

import pytest
import torch

import textbook_ops
from eqviz.cuda_ops.bias_act import ACTIVATIONS, bias_act
from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu
from eqviz.cuda_ops.geometry import output_size
from eqviz.cuda_ops.upfirdn2d import upfirdn2d

REL_TOL = 1e-6  # ~8 float32 ulps of the largest magnitude sum, for sums of up to ~150 terms

SHAPES = [(1, 1, 7, 9), (2, 3, 16, 12), (1, 16, 20, 17), (3, 9, 5, 6), (2, 32, 11, 13)]
FILTERS = [(1,), (2,), (3,), (4,), (7,), (8,), (12,), (3, 3), (4, 5), (6, 6), (2, 7)]


def _abs(t):
    return None if t is None else t.abs()


def _close(fast, want, magnitude):
    """Largest error relative to the largest sum of term magnitudes."""
    scale = max(magnitude.abs().max().item(), 1e-12)
    return (fast.double() - want).abs().max().item() / scale


def _upfirdn_cases(count, seed):
    """Random but reproducible upfirdn2d calls with a non-empty output."""
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        shape, fshape = rng.choice(SHAPES), rng.choice(FILTERS)
        up = (rng.randint(1, 4), rng.randint(1, 4)) if rng.random() < 0.3 else (rng.randint(1, 4),) * 2
        down = (rng.randint(1, 4), rng.randint(1, 4)) if rng.random() < 0.3 else (rng.randint(1, 4),) * 2
        padding = tuple(rng.randint(-3, 6) for _ in range(4))
        fw, fh = fshape[-1], fshape[0]
        if output_size(shape[3], up[0], down[0], padding[0], padding[1], fw) < 1 or \
                output_size(shape[2], up[1], down[1], padding[2], padding[3], fh) < 1:
            continue
        cases.append(dict(shape=shape, fshape=fshape, up=up, down=down, padding=padding,
                          flip_filter=rng.random() < 0.3, gain=rng.choice([1.0, 0.5, 3.0])))
    return cases


@pytest.mark.parametrize("case", _upfirdn_cases(60, seed=1), ids=lambda c: f"{c['shape']}-f{c['fshape']}-up{c['up']}-down{c['down']}-pad{c['padding']}")
def test_upfirdn2d_fast_matches_textbook(case):
    gen = torch.Generator().manual_seed(hash(str(case)) % 2**31)
    x = torch.randn(case["shape"], generator=gen)
    f = torch.randn(case["fshape"], generator=gen)
    args = (case["up"], case["down"], case["padding"], case["flip_filter"], case["gain"])
    want = textbook_ops.upfirdn2d(x, f, *args)
    magnitude = textbook_ops.upfirdn2d(x.abs(), f.abs(), *args)
    got = upfirdn2d(x, f, up=list(case["up"]), down=list(case["down"]), padding=list(case["padding"]),
                    flip_filter=case["flip_filter"], gain=case["gain"], impl="fast")
    assert got.shape == want.shape
    assert _close(got, want, magnitude) <= REL_TOL


def _lrelu_cases(count, seed):
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        shape = rng.choice(SHAPES)
        fu = rng.choice([None, (2,), (4,), (7,), (8,), (12,), (4, 4), (5, 6)])
        fd = rng.choice([None, (3,), (6,), (12,), (3, 3), (7, 7), (6, 5)])
        up, down = rng.randint(1, 4), rng.randint(1, 4)
        padding = tuple(rng.randint(-2, 8) for _ in range(4))
        fuw, fuh = (fu[-1], fu[0]) if fu else (1, 1)
        fdw, fdh = (fd[-1], fd[0]) if fd else (1, 1)
        mid_w = output_size(shape[3], up, 1, padding[0], padding[1], fuw)
        mid_h = output_size(shape[2], up, 1, padding[2], padding[3], fuh)
        if min(mid_w, mid_h) < 1 or output_size(mid_w, 1, down, 0, 0, fdw) < 1 or \
                output_size(mid_h, 1, down, 0, 0, fdh) < 1:
            continue
        cases.append(dict(shape=shape, fu=fu, fd=fd, up=up, down=down, padding=padding,
                          bias=rng.random() < 0.7, gain=rng.choice([1.0, math.sqrt(2), 0.7]),
                          slope=rng.choice([0.2, 0.0, 1.0, 0.5]), clamp=rng.choice([None, 256.0, 0.8]),
                          flip_filter=rng.random() < 0.3))
    return cases


@pytest.mark.parametrize("case", _lrelu_cases(40, seed=2), ids=lambda c: f"{c['shape']}-fu{c['fu']}-fd{c['fd']}-up{c['up']}-down{c['down']}-pad{c['padding']}")
def test_filtered_lrelu_fast_matches_textbook(case):
    gen = torch.Generator().manual_seed(hash(str(case)) % 2**31)
    x = torch.randn(case["shape"], generator=gen)
    fu = None if case["fu"] is None else torch.randn(case["fu"], generator=gen)
    fd = None if case["fd"] is None else torch.randn(case["fd"], generator=gen)
    b = torch.randn(case["shape"][1], generator=gen) if case["bias"] else None
    kwargs = dict(up=case["up"], down=case["down"], gain=case["gain"], slope=case["slope"], clamp=case["clamp"],
                  flip_filter=case["flip_filter"])
    want = textbook_ops.filtered_lrelu(x, fu, fd, b, padding=case["padding"], **kwargs)
    magnitude = textbook_ops.filtered_lrelu(x.abs(), _abs(fu), _abs(fd), _abs(b), padding=case["padding"],
                                            **{**kwargs, "clamp": None})
    got = filtered_lrelu(x, fu, fd, b, padding=list(case["padding"]), impl="fast", **kwargs)
    assert got.shape == want.shape
    assert _close(got, want, magnitude) <= REL_TOL


@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize("shape, fshape, up, down, padding", [
    ((2, 3, 11, 9), (6, 6), (4, 4), (1, 1), (5, 4, 5, 4)),      # the metric's kind: few channels, big filter
    ((1, 2, 10, 12), (4, 5), (2, 3), (3, 2), (-1, 4, 2, 0)),    # uneven factors, crop on one side
    ((1, 8, 7, 7), (3, 3), (2, 1), (1, 2), (1, 1, 1, 1)),       # phases along x, a stride along y
])
def test_both_2d_schedules_match_textbook(fold, shape, fshape, up, down, padding, monkeypatch):
    """A 2-D filter runs as one conv with the phases as channels (few channels) or one depthwise conv per phase."""
    from eqviz.cuda_ops import fast_upfirdn2d
    monkeypatch.setattr(fast_upfirdn2d, "FOLD_MAX_CHANNELS", 64 if fold else 0)
    gen = torch.Generator().manual_seed(7)
    x, f = torch.randn(shape, generator=gen), torch.randn(fshape, generator=gen)
    args = (up, down, padding, False, 2.0)
    want = textbook_ops.upfirdn2d(x, f, *args)
    magnitude = textbook_ops.upfirdn2d(x.abs(), f.abs(), *args)
    got = upfirdn2d(x, f, up=list(up), down=list(down), padding=list(padding), gain=2.0, impl="fast")
    assert got.shape == want.shape
    assert _close(got, want, magnitude) <= REL_TOL


def test_filtered_lrelu_fast_handles_stylegan3_layer_geometry():
    """A full-size StyleGAN3-T layer call (up 4 / down 2, negative padding, 24- and 12-tap filters)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn([1, 8, 38, 38], generator=gen)
    fu, fd, b = torch.randn([24], generator=gen), torch.randn([12], generator=gen), torch.randn([8], generator=gen)
    kwargs = dict(up=4, down=2, padding=[-6, -9, -6, -9], gain=math.sqrt(2), slope=0.2, clamp=0.5)
    want = textbook_ops.filtered_lrelu(x, fu, fd, b, **kwargs)
    magnitude = textbook_ops.filtered_lrelu(x.abs(), fu.abs(), fd.abs(), b.abs(), **{**kwargs, "clamp": None})
    got = filtered_lrelu(x, fu, fd, b, impl="fast", **kwargs)
    assert got.shape == (1, 8, 52, 52)
    assert _close(got, want, magnitude) <= REL_TOL


def test_fast_paths_accept_channels_last_input():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn([1, 16, 14, 14], generator=gen)
    fu, fd = torch.randn([12], generator=gen), torch.randn([7, 7], generator=gen)
    args = dict(up=2, down=2, padding=[7, 6, 7, 6], impl="fast")
    plain = filtered_lrelu(x, fu, fd, **args)
    cl = filtered_lrelu(x.contiguous(memory_format=torch.channels_last), fu, fd, **args)
    assert torch.equal(plain, cl)


def test_fast_filtered_lrelu_tiling_does_not_change_the_result(monkeypatch):
    """Working in channel chunks x row bands computes exactly the same samples as one big tile."""
    import eqviz.cuda_ops.fast_filtered_lrelu as fast

    gen = torch.Generator().manual_seed(5)
    x = torch.randn([2, 8, 16, 16], generator=gen)
    fu, fd, b = torch.randn([12], generator=gen), torch.randn([12], generator=gen), torch.randn([8], generator=gen)
    args = dict(up=2, down=2, padding=[9, 8, 9, 8], clamp=1.0, impl="fast")
    whole = filtered_lrelu(x, fu, fd, b, **args)
    monkeypatch.setattr(fast, "BAND_BYTES", 1)
    monkeypatch.setattr(fast, "MIN_BAND_ROWS", 3)  # bands of 3 output rows (the last one shorter)
    monkeypatch.setattr(fast, "CHANNEL_CHUNK", 3)  # chunks of 3, 3 and 2 channels
    tiled = filtered_lrelu(x, fu, fd, b, **args)
    assert torch.equal(whole, tiled)


def test_fast_filtered_lrelu_in_one_tile_as_on_a_gpu(monkeypatch):
    """The single-tile schedule used on GPUs (whole batch, all channels, all rows) gives the same result."""
    import eqviz.cuda_ops.fast_filtered_lrelu as fast

    gen = torch.Generator().manual_seed(7)
    x = torch.randn([3, 8, 12, 12], generator=gen)
    fu, fd = torch.randn([24], generator=gen), torch.randn([7, 7], generator=gen)
    args = dict(up=4, down=2, padding=[-2, -5, -2, -5], clamp=2.0, impl="fast")
    tiled = filtered_lrelu(x, fu, fd, **args)
    monkeypatch.setattr(fast, "_tiling", lambda x, out_h, row: ([slice(0, x.shape[0])], x.shape[1], out_h))
    assert torch.equal(filtered_lrelu(x, fu, fd, **args), tiled)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_bias_act_fast_matches_textbook(act):
    gen = torch.Generator().manual_seed(6)
    x = torch.randn([3, 5, 4, 6], generator=gen) * 3
    b = torch.randn([4], generator=gen)
    for kwargs in (dict(), dict(alpha=0.3, gain=0.5, clamp=1.5), dict(clamp=0.0)):
        want = textbook_ops.bias_act(x, b, dim=2, act=act, **kwargs)
        got = bias_act(x, b, dim=2, act=act, impl="fast", **kwargs)
        assert (got.double() - want).abs().max().item() <= 2e-6 * max(1.0, want.abs().max().item())
