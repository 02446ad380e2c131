"""Times the pycuda kernels against the PyTorch fast path on one GPU.

Two tables: every filtered_lrelu call of a 1024^2 StyleGAN3-R / -T synthesis at its real shape,
and whole mapping + synthesis for StyleGAN2 (config-f), StyleGAN3-T and StyleGAN3-R at 256^2
and 1024^2, batch 1 and 8, at NVIDIA's real capacities (random weights; float32 throughout,
num_fp16_res=0, because the kernels are float32). Each number is the median of CUDA-event
timings after warm-up; peak memory is torch's max allocated during the timed runs (after the
warm-up, so cuDNN's one-off algorithm search is not counted).

    python3 benchmarks/bench_gpu.py [--quick] [--json out.json]
    python3 benchmarks/bench_gpu.py --res 256 1024 --batch 1 --no-layers      # the GPU check's subset
    python3 benchmarks/bench_gpu.py --device cpu --tiny --res 64 --batch 1    # dry run: fast vs ref on the CPU
"""
import argparse
import json
import statistics
import sys
import time

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import torch

from eqviz.cuda_ops import dispatch
from eqviz.cuda_ops.backend_status import describe_backend

# NVIDIA's training configurations (train.py --cfg), float32.
CONFIGS = {
    "stylegan2": dict(channel_base=32768, channel_max=512, mapping_kwargs={"num_layers": 8},
                      num_fp16_res=0, conv_clamp=256, fused_modconv_default="inference_only"),
    "stylegan3-t": dict(channel_base=32768, channel_max=512, mapping_kwargs={"num_layers": 2},
                        magnitude_ema_beta=0.999, num_fp16_res=0, conv_clamp=256),
    "stylegan3-r": dict(channel_base=65536, channel_max=1024, mapping_kwargs={"num_layers": 2},
                        magnitude_ema_beta=0.999, num_fp16_res=0, conv_clamp=256, conv_kernel=1,
                        use_radial_filters=True),
}
# --tiny: the same architectures at a sliver of NVIDIA's width, so a dry run on the CPU takes seconds.
TINY = dict(channel_base=1024, channel_max=32)


def build(kind, resolution, device, tiny=False):
    from eqviz.networks.build import build_generator
    from eqviz.networks.config import config_from_init_kwargs

    kwargs = dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=resolution, img_channels=3,
                  **{**CONFIGS[kind], **(TINY if tiny else {})})
    return build_generator(config_from_init_kwargs(kind, kwargs)).to(device)


def time_ms(fn, warmup=2, min_reps=5, budget_ms=1500.0, device=None):
    """Median milliseconds of fn(), repeated until min_reps and about budget_ms: CUDA events when `device`
    is a GPU (or None and one is present), the wall clock on the CPU."""
    on_gpu = device.type == "cuda" if device is not None else torch.cuda.is_available()
    for _ in range(warmup):
        fn()
    if on_gpu:
        torch.cuda.synchronize()
    times = []
    while len(times) < min_reps or (sum(times) < budget_ms and len(times) < 50):
        if on_gpu:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def impls_for(device) -> tuple:
    """(kernels, baseline) impl names compared on this device: the CUDA kernels against the PyTorch fast
    path on a GPU, the fast path against the reference on the CPU (a dry run's stand-in)."""
    return ("cuda", "fast") if device.type == "cuda" else ("fast", "ref")


def record_filtered_lrelu_calls(G, ws):
    """The arguments of every filtered_lrelu call one synthesis makes."""
    import eqviz.networks.stylegan3 as sg3

    calls = []
    original = sg3.filtered_lrelu

    def spy(x, **kwargs):
        calls.append((x.clone(), kwargs))
        return original(x, **kwargs)

    sg3.filtered_lrelu = spy
    try:
        with torch.no_grad():
            G.synthesis(ws, noise_mode="const")
    finally:
        sg3.filtered_lrelu = original
    return calls


def bench_layers(kind, resolution, device, rows, tiny=False):
    from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu

    kernels, baseline = impls_for(device)
    G = build(kind, resolution, device, tiny)
    z = torch.randn(1, G.z_dim, device=device)
    ws = G.mapping(z, torch.zeros(1, 0, device=device))
    for x, kwargs in record_filtered_lrelu_calls(G, ws):
        timings = {impl: time_ms(lambda: filtered_lrelu(x, **kwargs, impl=impl), device=device)
                   for impl in (kernels, baseline)}
        fd = kwargs["fd"]
        rows.append(dict(model=f"{kind}-{resolution}", shape=list(x.shape), up=kwargs["up"], down=kwargs["down"],
                         fd="2d" if fd is not None and fd.ndim == 2 else "sep",
                         kernels_ms=timings[kernels], baseline_ms=timings[baseline]))
        r = rows[-1]
        print(f"  {r['model']:16s} x{str(tuple(r['shape'])):22s} up{r['up']} down{r['down']} fd {r['fd']:3s} "
              f"{kernels} {r['kernels_ms']:8.3f} ms  {baseline} {r['baseline_ms']:8.3f} ms  "
              f"x{r['baseline_ms'] / r['kernels_ms']:5.2f}", flush=True)
    del G
    release(device)


def release(device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def bench_synthesis(kind, resolution, batch, device, rows, tiny=False):
    G = build(kind, resolution, device, tiny)
    z = torch.randn(batch, G.z_dim, device=device)
    c = torch.zeros(batch, 0, device=device)
    row = dict(model=f"{kind}-{resolution}", batch=batch)
    on_gpu = device.type == "cuda"
    with torch.no_grad():
        for role, impl in zip(("kernels", "baseline"), impls_for(device)):
            with dispatch.default_impl(impl):
                def run():
                    return G.synthesis(G.mapping(z, c), noise_mode="const")

                run()  # warm-up first: cuDNN's algorithm search allocates far more than a forward pass
                if on_gpu:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats(device)
                row[f"{role}_ms"] = time_ms(run, warmup=1, device=device)
                row[f"{role}_peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20 if on_gpu else None
    rows.append(row)
    kernels, baseline = impls_for(device)
    print(f"  {row['model']:16s} batch {batch}: {kernels} {row['kernels_ms']:9.2f} ms{mib(row['kernels_peak_mib'])}  "
          f"{baseline} {row['baseline_ms']:9.2f} ms{mib(row['baseline_peak_mib'])}  "
          f"x{row['baseline_ms'] / row['kernels_ms']:5.2f}", flush=True)
    del G
    release(device)


def mib(value) -> str:
    return "" if value is None else f" ({value:7.0f} MiB)"


def first_gpu(needs: str) -> torch.device | None:
    """cuda:0 with cuDNN's algorithm search on, or None after printing `needs` (no GPU here)."""
    if not torch.cuda.is_available():
        print(needs, file=sys.stderr)
        return None
    torch.backends.cudnn.benchmark = True
    return torch.device("cuda", 0)


def chosen_device(requested: str, needs: str) -> torch.device | None:
    """--device: 'cuda' through first_gpu, 'cpu' as it is (a dry run of a GPU benchmark)."""
    return first_gpu(needs) if requested == "cuda" else torch.device("cpu")


def device_name(device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 1024^2 StyleGAN3-R rows")
    parser.add_argument("--kinds", nargs="+", choices=sorted(CONFIGS), help="default: all (--quick: stylegan3-r)")
    parser.add_argument("--res", nargs="+", type=int, help="default: 256 1024 (--quick: 1024)")
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--no-layers", action="store_true", help="skip the per-layer filtered_lrelu table")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cpu: a dry run (fast path against the reference)")
    parser.add_argument("--tiny", action="store_true", help="narrow models (dry runs), not NVIDIA's capacities")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args(argv)
    device = chosen_device(args.device, "bench_gpu needs a CUDA GPU (or --device cpu for a dry run)")
    if device is None:
        return 2
    kinds = args.kinds or (["stylegan3-r"] if args.quick else ["stylegan2", "stylegan3-t", "stylegan3-r"])
    resolutions = args.res or ([1024] if args.quick else [256, 1024])
    kernels, baseline = impls_for(device)
    print(f"{device_name(device)}, torch {torch.__version__}; {describe_backend(device)}")

    layer_rows, synth_rows = [], []
    if not args.no_layers:
        print("filtered_lrelu per layer (batch 1, real shapes):")
        for kind in kinds:
            if kind != "stylegan2":
                bench_layers(kind, max(resolutions), device, layer_rows, args.tiny)
    print("mapping + synthesis:")
    for kind in kinds:
        for resolution in resolutions:
            for batch in args.batch:
                bench_synthesis(kind, resolution, batch, device, synth_rows, args.tiny)

    print(f"\nsummary (ms, median; ratio = {baseline} / {kernels}):")
    print(f"{'model':16s} {'batch':>5s} {kernels + ' ms':>10s} {baseline + ' ms':>10s} {'ratio':>6s}")
    for r in synth_rows:
        print(f"{r['model']:16s} {r['batch']:5d} {r['kernels_ms']:10.2f} {r['baseline_ms']:10.2f} "
              f"{r['baseline_ms'] / r['kernels_ms']:6.2f}")
    if layer_rows:
        total = {role: sum(r[f"{role}_ms"] for r in layer_rows) for role in ("kernels", "baseline")}
        print(f"filtered_lrelu layers summed: {kernels} {total['kernels']:.2f} ms, {baseline} {total['baseline']:.2f} ms, "
              f"x{total['baseline'] / total['kernels']:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(device=device_name(device), impls=dict(kernels=kernels, baseline=baseline),
                           layers=layer_rows, synthesis=synth_rows), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
