"""Times each filter-op call a real generator makes (NVIDIA's full capacities), per implementation.

    python3 benchmarks/bench_ops.py                          # StyleGAN3-T/-R and StyleGAN2 at 256², ref vs fast
    python3 benchmarks/bench_ops.py --quick                  # 64², one timed run
    python3 benchmarks/bench_ops.py --device cuda --impl fast cuda --res 1024

One forward pass of a random-weight generator records every upfirdn2d / bias_act /
filtered_lrelu call with its exact inputs (shapes, filters, padding, gains); each recorded call
is then timed on its own with every implementation. Printed: one line per call (ms and ratio)
and the total per op.
"""
import argparse
import statistics
import time
from collections import defaultdict

from eqviz.process_tuning import tune_process  # noqa: E402

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import torch  # noqa: E402

from bench_synthesis import CONFIGS, device_and_impls, make_config  # noqa: E402
from eqviz.cuda_ops import bias_act as bias_act_module  # noqa: E402
from eqviz.cuda_ops import filtered_lrelu as filtered_lrelu_module  # noqa: E402
from eqviz.cuda_ops import upfirdn2d as upfirdn2d_module  # noqa: E402
from eqviz.networks.build import build_generator  # noqa: E402

# Where the generators look the ops up (each module imported them by name).
CALL_SITES = {
    "filtered_lrelu": [("eqviz.networks.stylegan3", filtered_lrelu_module.filtered_lrelu)],
    "upfirdn2d": [("eqviz.networks.modulated_conv", upfirdn2d_module.upfirdn2d)],
    "upsample2d": [("eqviz.networks.stylegan2", upfirdn2d_module.upsample2d)],
    "bias_act": [("eqviz.networks.stylegan2", bias_act_module.bias_act), ("eqviz.networks.layers", bias_act_module.bias_act)],
}


def record_calls(G, z):
    """Every filter-op call of one mapping + synthesis pass: [(op name, function, args, kwargs)]."""
    import importlib

    calls, patched = [], []

    def recorder(name, func):
        def record(*args, **kwargs):
            copy = lambda v: v.clone() if isinstance(v, torch.Tensor) else v  # noqa: E731
            calls.append((name, func, [copy(a) for a in args], {k: copy(v) for k, v in kwargs.items()}))
            return func(*args, **kwargs)
        return record

    for name, sites in CALL_SITES.items():
        for module_name, func in sites:
            module = importlib.import_module(module_name)
            if getattr(module, name, None) is func:
                patched.append((module, name, func))
                setattr(module, name, recorder(name, func))
    try:
        with torch.inference_mode():
            G.synthesis(G.mapping(z, None), noise_mode="const")
    finally:
        for module, name, func in patched:
            setattr(module, name, func)
    return calls


def time_call(func, args, kwargs, impl, repeats, device):
    kwargs = {**kwargs, "impl": impl}
    with torch.inference_mode():
        func(*args, **kwargs)  # warm-up
        times = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            func(*args, **kwargs)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def describe(name, args, kwargs):
    x = args[0]
    parts = [f"x {list(x.shape)}"]
    for key in ("fu", "fd", "f"):
        value = kwargs.get(key)
        if isinstance(value, torch.Tensor):
            parts.append(f"{key} {list(value.shape)}")
    for key in ("up", "down", "padding", "act"):
        if key in kwargs and kwargs[key] not in (1, 0, None):
            parts.append(f"{key} {kwargs[key]}")
    return f"{name:14s} " + ", ".join(parts)


def normalise(name, args, kwargs):
    """Positional filters (fu, fd, b / f) as keywords, so that `describe` sees them."""
    names = {"filtered_lrelu": ["x", "fu", "fd", "b"], "upfirdn2d": ["x", "f"], "upsample2d": ["x", "f"],
             "bias_act": ["x", "b"]}[name]
    kwargs = {**dict(zip(names[1:], args[1:])), **kwargs}
    return [args[0]], kwargs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--impl", nargs="+", default=None, help="default: ref fast (cpu), ref fast cuda (cuda)")
    parser.add_argument("--res", type=int, default=None, help="output resolution (default 256, quick 64)")
    parser.add_argument("--configs", nargs="+", default=["stylegan3-t", "stylegan3-r", "stylegan2"], choices=CONFIGS)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per call (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="64², one timed run")
    args = parser.parse_args(argv)

    device, impls = device_and_impls(parser, args)
    res = args.res or (64 if args.quick else 256)
    repeats = args.repeats or (1 if args.quick else 3)
    print(f"# device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, res {res}, "
          f"batch {args.batch}, median of {repeats} run(s) after a warm-up")

    for kind in args.configs:
        torch.manual_seed(0)
        G = build_generator(make_config(kind, res)).to(device)
        z = torch.randn([args.batch, G.z_dim], device=device)
        calls = record_calls(G, z)
        del G
        print(f"## {kind} {res}²: {len(calls)} filter-op calls")
        totals = defaultdict(lambda: defaultdict(float))
        for name, func, call_args, call_kwargs in calls:
            call_args, call_kwargs = normalise(name, call_args, call_kwargs)
            call_kwargs.pop("impl", None)
            ms = {impl: time_call(func, call_args, call_kwargs, impl, repeats, device) for impl in impls}
            for impl, value in ms.items():
                totals[name][impl] += value
            cells = " ".join(f"{impl} {value:8.2f} ms" for impl, value in ms.items())
            ratio = f"  fast/ref {ms['ref'] / ms['fast']:5.1f}x" if "ref" in ms and "fast" in ms else ""
            print(f"  {describe(name, call_args, call_kwargs):80s} {cells}{ratio}", flush=True)
        for name, per_impl in totals.items():
            cells = " ".join(f"{impl} {value:9.1f} ms" for impl, value in per_impl.items())
            ratio = f"  fast/ref {per_impl['ref'] / per_impl['fast']:5.1f}x" if "ref" in per_impl and "fast" in per_impl else ""
            cuda = f"  cuda/fast {per_impl['fast'] / per_impl['cuda']:5.1f}x" if "cuda" in per_impl and "fast" in per_impl else ""
            print(f"  total {name:14s} {cells}{ratio}{cuda}")


if __name__ == "__main__":
    main()
