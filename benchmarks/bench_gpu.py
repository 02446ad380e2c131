"""Times the pycuda kernels against the PyTorch fast path on one GPU.

Two tables: every filtered_lrelu call of a 1024^2 StyleGAN3-R / -T synthesis at its real shape,
and whole mapping + synthesis for StyleGAN2 (config-f), StyleGAN3-T and StyleGAN3-R at 256^2
and 1024^2, batch 1 and 8, at NVIDIA's real capacities (random weights; float32 throughout,
num_fp16_res=0, because the kernels are float32). Each number is the median of CUDA-event
timings after warm-up; peak memory is torch's max allocated during the timed runs (after the
warm-up, so cuDNN's one-off algorithm search is not counted).

    python3 benchmarks/bench_gpu.py [--quick] [--json out.json]
"""
import argparse
import json
import statistics
import sys

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


def build(kind, resolution, device):
    from eqviz.networks.build import build_generator
    from eqviz.networks.config import config_from_init_kwargs

    kwargs = dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=resolution, img_channels=3, **CONFIGS[kind])
    return build_generator(config_from_init_kwargs(kind, kwargs)).to(device)


def time_ms(fn, warmup=2, min_reps=5, budget_ms=1500.0):
    """Median milliseconds of fn() by CUDA events, repeated until min_reps and about budget_ms."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    while len(times) < min_reps or (sum(times) < budget_ms and len(times) < 50):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


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


def bench_layers(kind, resolution, device, rows):
    from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu

    G = build(kind, resolution, device)
    z = torch.randn(1, G.z_dim, device=device)
    ws = G.mapping(z, torch.zeros(1, 0, device=device))
    for x, kwargs in record_filtered_lrelu_calls(G, ws):
        timings = {impl: time_ms(lambda: filtered_lrelu(x, **kwargs, impl=impl)) for impl in ("cuda", "fast")}
        fd = kwargs["fd"]
        rows.append(dict(model=f"{kind}-{resolution}", shape=list(x.shape), up=kwargs["up"], down=kwargs["down"],
                         fd="2d" if fd is not None and fd.ndim == 2 else "sep",
                         cuda_ms=timings["cuda"], fast_ms=timings["fast"]))
        r = rows[-1]
        print(f"  {r['model']:16s} x{str(tuple(r['shape'])):22s} up{r['up']} down{r['down']} fd {r['fd']:3s} "
              f"cuda {r['cuda_ms']:8.3f} ms  fast {r['fast_ms']:8.3f} ms  x{r['fast_ms'] / r['cuda_ms']:5.2f}",
              flush=True)
    del G
    torch.cuda.empty_cache()


def bench_synthesis(kind, resolution, batch, device, rows):
    G = build(kind, resolution, device)
    z = torch.randn(batch, G.z_dim, device=device)
    c = torch.zeros(batch, 0, device=device)
    row = dict(model=f"{kind}-{resolution}", batch=batch)
    with torch.no_grad():
        for impl in ("cuda", "fast"):
            with dispatch.default_impl(impl):
                def run():
                    return G.synthesis(G.mapping(z, c), noise_mode="const")

                run()  # warm-up first: cuDNN's algorithm search allocates far more than a forward pass
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats(device)
                row[f"{impl}_ms"] = time_ms(run, warmup=1)
                row[f"{impl}_peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    rows.append(row)
    print(f"  {row['model']:16s} batch {batch}: cuda {row['cuda_ms']:9.2f} ms ({row['cuda_peak_mib']:7.0f} MiB)  "
          f"fast {row['fast_ms']:9.2f} ms ({row['fast_peak_mib']:7.0f} MiB)  x{row['fast_ms'] / row['cuda_ms']:5.2f}",
          flush=True)
    del G
    torch.cuda.empty_cache()


def first_gpu(needs: str) -> torch.device | None:
    """cuda:0 with cuDNN's algorithm search on, or None after printing `needs` (no GPU here)."""
    if not torch.cuda.is_available():
        print(needs, file=sys.stderr)
        return None
    torch.backends.cudnn.benchmark = True
    return torch.device("cuda", 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 1024^2 StyleGAN3-R rows")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args(argv)
    device = first_gpu("bench_gpu needs a CUDA GPU")
    if device is None:
        return 2
    print(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}; {describe_backend(device)}")

    layer_rows, synth_rows = [], []
    print("filtered_lrelu per layer (batch 1, real shapes):")
    for kind in (("stylegan3-r",) if args.quick else ("stylegan3-r", "stylegan3-t")):
        bench_layers(kind, 1024, device, layer_rows)
    print("mapping + synthesis:")
    kinds = ("stylegan3-r",) if args.quick else ("stylegan2", "stylegan3-t", "stylegan3-r")
    for kind in kinds:
        for resolution in ((1024,) if args.quick else (256, 1024)):
            for batch in (1, 8):
                bench_synthesis(kind, resolution, batch, device, synth_rows)

    print("\nsummary (ms, median; ratio = fast / cuda):")
    print(f"{'model':16s} {'batch':>5s} {'cuda ms':>10s} {'fast ms':>10s} {'ratio':>6s} {'cuda MiB':>9s} {'fast MiB':>9s}")
    for r in synth_rows:
        print(f"{r['model']:16s} {r['batch']:5d} {r['cuda_ms']:10.2f} {r['fast_ms']:10.2f} "
              f"{r['fast_ms'] / r['cuda_ms']:6.2f} {r['cuda_peak_mib']:9.0f} {r['fast_peak_mib']:9.0f}")
    total = {impl: sum(r[f"{impl}_ms"] for r in layer_rows) for impl in ("cuda", "fast")}
    if layer_rows:
        print(f"filtered_lrelu layers summed: cuda {total['cuda']:.2f} ms, fast {total['fast']:.2f} ms, "
              f"x{total['fast'] / total['cuda']:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(device=torch.cuda.get_device_name(device), layers=layer_rows, synthesis=synth_rows), fh,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
