"""eqviz's filter ops against NVIDIA's own ops (NVlabs/stylegan3 torch_utils/ops), side by side.

NVIDIA's code is not part of eqviz and is never imported by it: this benchmark alone imports
`torch_utils` from a checkout given with --nvidia-repo (fetched beside the project, in an ignored
folder). On a GPU NVIDIA's plugins JIT-compile on first use (ninja + nvcc; a minute or more each).

Two tables, on the same inputs:
  1. per layer: every filtered_lrelu call of one StyleGAN3-T / -R synthesis at its real shape,
     NVIDIA's op vs eqviz's (default impl), max |difference| / max |NVIDIA| and both times;
  2. whole mapping + synthesis: eqviz's generator as it runs, and the same generator with NVIDIA's
     filtered_lrelu and bias_act substituted for eqviz's (so only the ops differ), batch 1 and 8.

    python3 benchmarks/bench_nvidia_ops.py --nvidia-repo .nvlabs/stylegan3 [--res 1024] [--json out.json]
    python3 benchmarks/bench_nvidia_ops.py --nvidia-repo /tmp/stylegan3 --device cpu --res 64 --batch 1 [--tiny]

On the CPU NVIDIA's ops run their pure-PyTorch reference: the run checks the plumbing and the
agreement, and its times compare eqviz's fast CPU path with NVIDIA's CPU path.
"""
import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import torch  # noqa: E402

import eqviz.networks.layers as eqviz_layers  # noqa: E402
import eqviz.networks.stylegan3 as eqviz_sg3  # noqa: E402
from bench_gpu import build, record_filtered_lrelu_calls, time_ms  # noqa: E402
from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu  # noqa: E402


def import_nvidia_ops(repo: Path):
    """NVIDIA's bias_act and filtered_lrelu modules from a stylegan3 checkout (benchmark only)."""
    if not (repo / "torch_utils" / "ops" / "filtered_lrelu.py").is_file():
        raise SystemExit(f"{repo} is not a NVlabs/stylegan3 checkout (no torch_utils/ops/filtered_lrelu.py)")
    sys.path.insert(0, str(repo))
    try:  # NVIDIA's conv2d_gradfix imports parse_version from pkg_resources, gone from new setuptools
        import pkg_resources  # noqa: F401
    except ImportError:
        import types

        from packaging.version import parse

        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)
    from torch_utils.ops import bias_act as nv_bias_act
    from torch_utils.ops import filtered_lrelu as nv_filtered_lrelu

    return nv_bias_act, nv_filtered_lrelu




def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b|, in float64."""
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


@contextlib.contextmanager
def nvidia_ops_in(nv_bias_act, nv_filtered_lrelu, nv_impl: str):
    """Runs eqviz's generators with NVIDIA's filtered_lrelu and bias_act in place of eqviz's."""
    def nv_flrelu(x, impl=None, **kwargs):
        return nv_filtered_lrelu.filtered_lrelu(x, impl=nv_impl, **kwargs)

    def nv_bias(x, b=None, impl=None, **kwargs):
        return nv_bias_act.bias_act(x, b, impl=nv_impl, **kwargs)

    saved = eqviz_sg3.filtered_lrelu, eqviz_layers.bias_act
    eqviz_sg3.filtered_lrelu, eqviz_layers.bias_act = nv_flrelu, nv_bias
    try:
        yield
    finally:
        eqviz_sg3.filtered_lrelu, eqviz_layers.bias_act = saved


def bench_layers(G, nv_filtered_lrelu, nv_impl, device, timing, rows) -> None:
    z = torch.randn(1, G.z_dim, device=device)
    with torch.no_grad():
        ws = G.mapping(z, torch.zeros(1, 0, device=device))
        for x, kwargs in record_filtered_lrelu_calls(G, ws):
            kwargs = {k: v for k, v in kwargs.items() if k != "impl"}
            ours = filtered_lrelu(x, **kwargs)
            theirs = nv_filtered_lrelu.filtered_lrelu(x, impl=nv_impl, **kwargs)
            fd = kwargs.get("fd")
            row = dict(shape=list(x.shape), up=kwargs.get("up", 1), down=kwargs.get("down", 1),
                       fd="2d" if fd is not None and fd.ndim == 2 else "sep",
                       rel_diff=relative_difference(ours, theirs),
                       eqviz_ms=time_ms(lambda: filtered_lrelu(x, **kwargs), **timing),
                       nvidia_ms=time_ms(lambda: nv_filtered_lrelu.filtered_lrelu(x, impl=nv_impl, **kwargs), **timing))
            rows.append(row)
            print(f"  x{str(tuple(row['shape'])):22s} up{row['up']} down{row['down']}  eqviz {row['eqviz_ms']:8.3f} ms"
                  f"  nvidia {row['nvidia_ms']:8.3f} ms  nvidia/eqviz {row['nvidia_ms'] / row['eqviz_ms']:5.2f}"
                  f"  diff {row['rel_diff']:.1e}", flush=True)


def bench_synthesis(G, batch, nv_ops, nv_impl, device, timing) -> dict:
    z = torch.randn(batch, G.z_dim, device=device, generator=torch.Generator(device).manual_seed(0))
    c = torch.zeros(batch, 0, device=device)

    def run():
        return G.synthesis(G.mapping(z, c), noise_mode="const")

    with torch.no_grad():
        ours = run()
        eqviz_ms = time_ms(run, **timing)
        with nvidia_ops_in(*nv_ops, nv_impl):
            theirs = run()
            nvidia_ms = time_ms(run, **timing)
    return dict(batch=batch, eqviz_ms=eqviz_ms, nvidia_ms=nvidia_ms, rel_diff=relative_difference(ours, theirs))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nvidia-repo", required=True, type=Path, help="a NVlabs/stylegan3 checkout")
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--res", type=int, default=1024)
    parser.add_argument("--kinds", nargs="+", default=["stylegan3-t", "stylegan3-r"])
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--reps", type=int, default=5, help="timed runs at least (median reported)")
    parser.add_argument("--budget-ms", type=float, default=1500.0, help="more timed runs until about this long")
    parser.add_argument("--tiny", action="store_true", help="narrow models (dry runs), not NVIDIA's capacities")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_nvidia_ops --device cuda needs a CUDA GPU", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    nv_impl = "cuda" if device.type == "cuda" else "ref"
    nv_ops = import_nvidia_ops(args.nvidia_repo.resolve())
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        t0 = time.perf_counter()
        built = nv_ops[0]._init() and nv_ops[1]._init()  # JIT-builds NVIDIA's plugins
        print(f"NVIDIA plugins built: {built} ({time.perf_counter() - t0:.0f} s)", flush=True)

    # bench_gpu's timer (CUDA events on a GPU, the clock on the CPU) after one warm-up
    timing = dict(warmup=1, min_reps=args.reps, budget_ms=args.budget_ms, device=device)
    results = dict(device=str(device), torch=torch.__version__, res=args.res, models={})
    for kind in args.kinds:
        G = build(kind, args.res, device, args.tiny).eval()
        print(f"{kind} {args.res}², filtered_lrelu per layer (batch 1):", flush=True)
        layers = []
        bench_layers(G, nv_ops[1], nv_impl, device, timing, layers)
        synthesis = [bench_synthesis(G, batch, nv_ops, nv_impl, device, timing) for batch in args.batch]
        for row in synthesis:
            print(f"  whole synthesis batch {row['batch']}: eqviz {row['eqviz_ms']:9.2f} ms  nvidia ops "
                  f"{row['nvidia_ms']:9.2f} ms  nvidia/eqviz {row['nvidia_ms'] / row['eqviz_ms']:5.2f}  "
                  f"diff {row['rel_diff']:.1e}", flush=True)
        layer_total = {who: sum(r[f"{who}_ms"] for r in layers) for who in ("eqviz", "nvidia")}
        print(f"  layers summed: eqviz {layer_total['eqviz']:.2f} ms, nvidia {layer_total['nvidia']:.2f} ms, "
              f"nvidia/eqviz {layer_total['nvidia'] / layer_total['eqviz']:.2f}; worst layer diff "
              f"{max(r['rel_diff'] for r in layers):.1e}", flush=True)
        results["models"][kind] = dict(layers=layers, synthesis=synthesis, layer_total_ms=layer_total)
        del G
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
