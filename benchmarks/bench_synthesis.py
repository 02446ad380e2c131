"""Times whole generators (mapping + synthesis) at NVIDIA's real capacities, per filter-op implementation.

    python3 benchmarks/bench_synthesis.py                    # 64² and 256², batch 1, all configs, ref vs fast
    python3 benchmarks/bench_synthesis.py --quick            # 64² only, one timed run
    python3 benchmarks/bench_synthesis.py --res 1024 --configs stylegan3-t --batch 1
    python3 benchmarks/bench_synthesis.py --device cuda --impl fast cuda --res 256 1024 --batch 1 8

Weights are random (the timing does not depend on them). Every op is switched with
`eqviz.cuda_ops.dispatch.default_impl`: 'ref' runs NVIDIA's formulation throughout (zero insertion, dense
FIR convolutions, fused grouped modulated convs), 'fast' the fast CPU path (polyphase filters,
StyleGAN2's reordered modulated convs with Winograd 3x3 convs on wide layers).

On the CPU the 'ref' column runs, by default, in a separate Python process left as NVIDIA's own
scripts leave it (default OpenMP waiting and allocator), while the other columns run as `eqviz`
runs (`eqviz.process_tuning`): that is the comparison a user makes. `--same-process` runs the
reference in this tuned process too, which isolates what the code alone gains.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

UNTUNED_ENV = dict(os.environ, EQVIZ_PROCESS_TUNING="0")  # captured before tuning changes os.environ

from eqviz.process_tuning import tune_process  # noqa: E402

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import psutil  # noqa: E402
import torch  # noqa: E402

from eqviz.cuda_ops.dispatch import default_impl  # noqa: E402
from eqviz.networks.build import build_generator  # noqa: E402
from eqviz.networks.config import MappingConfig, StyleGAN2Config, StyleGAN3Config  # noqa: E402

CONFIGS = ("stylegan2", "stylegan3-t", "stylegan3-r")


# ---- NVIDIA's full-capacity configurations (train.py / the paper's released models) ---------------------
def make_config(kind: str, res: int):
    common = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3)
    if kind == "stylegan2":  # config-f
        return StyleGAN2Config(**common, mapping=MappingConfig(num_layers=8), channel_base=32768, channel_max=512)
    if kind == "stylegan3-t":
        return StyleGAN3Config(**common, channel_base=32768, channel_max=512)
    if kind == "stylegan3-r":  # train.py doubles the capacity for -r
        return StyleGAN3Config(**common, channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True)
    raise ValueError(f"unknown config {kind!r}; choose from {CONFIGS}")


# ---- Shared command-line setup ------------------------------------------------------------------------------
def device_and_impls(parser, args) -> tuple:
    """--device (checked), --threads (applied) and --impl (default: every impl the device has)."""
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available to torch")
    if args.threads:
        torch.set_num_threads(args.threads)
    return device, args.impl or (["ref", "fast", "cuda"] if device.type == "cuda" else ["ref", "fast"])


# ---- Peak memory during one call ---------------------------------------------------------------------------
class PeakMemory:
    """Peak memory above the starting level: CUDA allocator statistics, or sampled RSS on the CPU."""

    def __init__(self, device: torch.device, interval_s: float = 0.005):
        self.device, self.interval_s = device, interval_s
        self.peak_bytes = 0

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            self._proc = psutil.Process()
            self._base = self._proc.memory_info().rss
            self._peak = self._base
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval_s):
            self._peak = max(self._peak, self._proc.memory_info().rss)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._base
        else:
            self._stop.set()
            self._thread.join()
            self.peak_bytes = max(self._peak, self._proc.memory_info().rss) - self._base
        return False


def time_generators(G, z, impls, repeats: int) -> dict:
    """impl -> (median wall ms, median process-CPU ms, peak bytes) of G.mapping + G.synthesis.

    The impls take turns run by run, so a stretch of interference from other tenants of the machine
    hits every column alike instead of one. The CPU time (all threads of this process) is the
    steadier number on a shared machine, where wall time also counts time others hold the cores.
    """
    device = z.device

    def run():
        ws = G.mapping(z, None)
        return G.synthesis(ws, noise_mode="const")

    times = {impl: ([], [], [0]) for impl in impls}
    with torch.inference_mode():
        for impl in impls:  # warm-up: oneDNN / cuDNN primitive creation, kernel loading, filter caches
            with default_impl(impl):
                run()
        for _ in range(repeats):
            for impl in impls:
                wall, cpu, peak = times[impl]
                with default_impl(impl), PeakMemory(device) as mem:
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    start, cpu_start = time.perf_counter(), time.process_time()
                    run()
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    wall.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - cpu_start) * 1000)
                peak[0] = max(peak[0], mem.peak_bytes)
    return {impl: (statistics.median(w), statistics.median(c), p[0]) for impl, (w, c, p) in times.items()}


def time_in_untuned_process(kind: str, res: int, batch: int, repeats: int, threads: int | None) -> tuple:
    """time_generators' 'ref' result, measured in a fresh interpreter without eqviz's process tuning."""
    cmd = [sys.executable, __file__, "--json-only", "--configs", kind, "--res", str(res), "--batch", str(batch),
           "--impl", "ref", "--repeats", str(repeats)] + (["--threads", str(threads)] if threads else [])
    out = subprocess.run(cmd, env=UNTUNED_ENV, check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out.strip().splitlines()[-1])["ref"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--impl", nargs="+", default=None,
                        help="filter-op implementations to compare (default: ref fast on cpu, ref fast cuda on cuda)")
    parser.add_argument("--res", nargs="+", type=int, default=None, help="output resolutions (default: 64 256)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--batch", nargs="+", type=int, default=[1])
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="64² only, one timed run: a smoke test in seconds")
    parser.add_argument("--same-process", action="store_true",
                        help="CPU: run 'ref' in this tuned process instead of an untuned one, as NVIDIA's scripts run")
    parser.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)  # one result as JSON (child runs)
    args = parser.parse_args(argv)

    device, impls = device_and_impls(parser, args)
    resolutions = args.res or ([64] if args.quick else [64, 256])
    repeats = args.repeats or (1 if args.quick else 3)
    if not args.json_only:
        print(f"# device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"median of {repeats} interleaved run(s) after a warm-up; peak = memory above the level before the call"
              + ("" if device.type != "cpu" or args.same_process else "; 'ref' in an untuned process"))

    for kind in args.configs:
        for res in resolutions:
            torch.manual_seed(0)
            G = build_generator(make_config(kind, res)).to(device)
            params = sum(p.numel() for p in G.parameters()) / 1e6
            for batch in args.batch:
                z = torch.randn([batch, G.z_dim], device=device)
                separate = "ref" in impls and device.type == "cpu" and not (args.same_process or args.json_only)
                results = time_generators(G, z, [i for i in impls if not (separate and i == "ref")], repeats)
                if args.json_only:
                    print(json.dumps(results))
                    continue
                if separate:
                    results = {"ref": time_in_untuned_process(kind, res, batch, repeats, args.threads), **results}
                cells = [f"{impl} {ms:9.1f} ms (cpu {cpu:.0f} ms, peak {peak / 2**20:.0f} MiB)"
                         for impl, (ms, cpu, peak) in results.items()]
                ratios = []
                if "ref" in results and "fast" in results:
                    ratios.append(f"fast vs ref {results['ref'][0] / results['fast'][0]:.2f}x"
                                  f" (cpu time {results['ref'][1] / results['fast'][1]:.2f}x)")
                if "fast" in results and "cuda" in results:
                    ratios.append(f"cuda vs fast {results['fast'][0] / results['cuda'][0]:.2f}x")
                print(f"{kind:11s} {res:4d}² batch {batch} ({params:.1f}M params): " + " | ".join(cells)
                      + ("  => " + ", ".join(ratios) if ratios else ""), flush=True)
            del G


if __name__ == "__main__":
    main()
