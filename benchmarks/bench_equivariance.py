"""What the equivariance metric costs besides the generator, per sample, on a 256^2 StyleGAN3-T.

Runs `equivariance_errors` (all three metrics) on a random-weight generator and splits its wall time
into generator time (mapping + the four synthesis calls, timed with forward hooks) and everything
else: the translation / rotation operators, band-limit filter construction and error sums. The
target is overhead <= 10% of generator time. Times are the minimum over repeats (the machine is
shared), with a fresh random translation and angle every repeat.

    python benchmarks/bench_equivariance.py [--resolution 256] [--channel-base 8192] [--device cpu]
    python benchmarks/bench_equivariance.py --checkpoint sg3t_64.pkl --samples 16   (whole metric, s / 100 samples)
"""
import argparse
import json
import math
import time
from pathlib import Path

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import numpy as np
import torch

from eqviz.networks.build import build_generator
from eqviz.networks.config import config_from_init_kwargs
from eqviz.networks.filter_design import affine_bandlimit_filter, rotation_matrix
from eqviz.core.resampling import (
    apply_fractional_pseudo_rotation,
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
)
from eqviz.metrics.equivariance.measure import equivariance_errors


def random_generator(resolution: int, channel_base: int, channel_max: int, device) -> torch.nn.Module:
    kwargs = dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=resolution, img_channels=3,
                  channel_base=channel_base, channel_max=channel_max, mapping_kwargs={"num_layers": 2})
    return build_generator(config_from_init_kwargs("stylegan3-t", kwargs)).eval().requires_grad_(False).to(device)


class GeneratorClock:
    """Accumulates the wall time spent inside G.mapping and G.synthesis via forward hooks.

    The hooks are plain closures, so they survive (and keep counting in) the deep copy that
    compute_equivariance makes of the generator.
    """

    def __init__(self, G, device):
        device = torch.device(device)
        state = {"total": 0.0, "t0": 0.0}

        def sync():
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        def start(*_):
            sync()
            state["t0"] = time.perf_counter()

        def stop(*_):
            sync()
            state["total"] += time.perf_counter() - state["t0"]

        for module in (G.mapping, G.synthesis):
            module.register_forward_pre_hook(start)
            module.register_forward_hook(stop)
        self.state = state

    @property
    def total(self) -> float:
        return self.state["total"]

    def reset(self) -> None:
        self.state["total"] = 0.0


def time_min(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def time_whole_metric(args) -> None:
    """Seconds per 100 samples of all three metrics on a real checkpoint, split like the main benchmark."""
    from eqviz.networks import load_generator
    from eqviz.metrics.equivariance.run import compute_equivariance

    G = load_generator(args.checkpoint, device=args.device)
    clock = GeneratorClock(G, args.device)
    result = compute_equivariance(G, num_samples=args.samples, batch_size=args.batch, seed=0, device=args.device)
    per100 = 100 / args.samples
    print(f"{args.checkpoint}: {args.samples} samples, batch {args.batch}, {args.device}, {args.threads} threads")
    print(f"  {result.elapsed_s * per100:.1f} s per 100 samples: generator {clock.total * per100:.1f} s, "
          f"everything else {(result.elapsed_s - clock.total) * per100:.1f} s "
          f"(ratio {(result.elapsed_s - clock.total) / clock.total:.3f})")
    print("  " + ", ".join(f"{m} {v:.2f} dB" for m, v in result.psnr_db.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--channel-base", type=int, default=8192, help="capacity (NVIDIA's full size: 32768)")
    parser.add_argument("--channel-max", type=int, default=256, help="capacity (NVIDIA's full size: 512)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint", help="instead: time compute_equivariance on this checkpoint")
    parser.add_argument("--samples", type=int, default=16, help="with --checkpoint: samples to run")
    parser.add_argument("--batch", type=int, default=8, help="with --checkpoint: batch size")
    parser.add_argument("--json", help="also write the per-sample split to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.checkpoint:
        time_whole_metric(args)
        return
    rng = np.random.default_rng(0)

    G = random_generator(args.resolution, args.channel_base, args.channel_max, args.device)
    clock = GeneratorClock(G, args.device)
    z = torch.randn(1, G.z_dim, device=args.device)
    print(f"StyleGAN3-T {args.resolution}^2, channel_base {args.channel_base}, channel_max {args.channel_max}, "
          f"{sum(p.numel() for p in G.parameters()) / 1e6:.1f} M parameters, {args.device}, {args.threads} threads")

    best_total, best_generator = math.inf, math.inf
    for repeat in range(args.repeats + 1):  # the first run warms caches and is not counted
        u = rng.uniform(-1, 1, size=5)
        clock.reset()
        t0 = time.perf_counter()
        with torch.no_grad():
            ws = G.mapping(z, None)
            equivariance_errors(G, ws, t_int=u[:2] * 0.125, t_frac=u[2:4] * 0.125, angle=u[4] * math.pi)
        total = time.perf_counter() - t0
        if repeat:
            best_total, best_generator = min(best_total, total), min(best_generator, clock.total)
    overhead = best_total - best_generator
    print(f"per sample: generator (mapping + 4 synthesis calls) {best_generator:.3f} s, "
          f"everything else {overhead:.3f} s")
    print(f"overhead / generator time = {overhead / best_generator:.3f}  (target <= 0.10)")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(resolution=args.resolution, channel_base=args.channel_base,
                                                   channel_max=args.channel_max, device=args.device,
                                                   generator_s=best_generator, overhead_s=overhead), indent=1))

    x = torch.randn(1, 3, args.resolution, args.resolution, device=args.device)
    angle = 0.7
    ops = {
        "integer translation": lambda: apply_integer_translation(x, 0.05, -0.03),
        "fractional translation": lambda: apply_fractional_translation(x, 0.051, -0.033),
        "band-limit filter, up 4": lambda: affine_bandlimit_filter(rotation_matrix(angle), a=3, amax=6, up=4),
        "rotation (incl. filter)": lambda: apply_fractional_rotation(x, angle),
        "pseudo-rotation (incl. filter)": lambda: apply_fractional_pseudo_rotation(x, angle),
    }
    for name, fn in ops.items():
        fn()
        print(f"  {name:<32} {time_min(fn, args.repeats) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
