"""Projection speed (steps per second) and memory over the steps, against one bare generator step.

    python3 benchmarks/bench_projection.py                          # 64² and 256², StyleGAN2 and StyleGAN3-T
    python3 benchmarks/bench_projection.py --res 64 256 1024 --configs stylegan2 --steps 4
    python3 benchmarks/bench_projection.py --device cuda --res 256 1024 --configs stylegan2 stylegan3-t
    python3 benchmarks/bench_projection.py --tiny --res 64 --steps 3            # dry run: narrow G and D

Models have NVIDIA's full capacities (as bench_synthesis.py). Each row projects one random target
with pixel + discriminator loss (a full-capacity discriminator at the generator's resolution) and
times the steps after the first. The baseline, measured in the
same run, is the floor every step pays: one synthesis forward + backward with respect to ws. Their
ratio is the projection's own overhead (the discriminator, the loss, Adam, best-W bookkeeping).
Memory: RSS (CPU) or allocated bytes (CUDA) after the second and the last step; flat means the
steps keep nothing. Weights are random: the timing does not depend on them.
"""
import argparse
import dataclasses
import json
import statistics
import time
import warnings

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does; before torch

import psutil  # noqa: E402
import torch  # noqa: E402

from bench_gpu import TINY  # noqa: E402
from bench_synthesis import CONFIGS, device_and_impls, make_config  # noqa: E402
from eqviz.core.input_transform import synthesize  # noqa: E402
from eqviz.networks.build import build_generator  # noqa: E402
from eqviz.networks.discriminator import Discriminator  # noqa: E402
from eqviz.networks.discriminator_config import DiscriminatorConfig  # noqa: E402
from eqviz.projection.projector import ProjectionSettings, project  # noqa: E402


def memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return torch.cuda.memory_allocated(device)
    return psutil.Process().memory_info().rss


def bare_step_s(G, device, repeats: int) -> float:
    """Median seconds of synthesis forward + backward with respect to ws (the floor of a projection step)."""
    ws = G.mapping(torch.randn(1, G.z_dim, device=device), None).detach().requires_grad_(True)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        synthesize(G, ws).square().mean().backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def projection_row(kind: str, res: int, device: torch.device, steps: int, tiny: bool = False) -> dict:
    torch.manual_seed(0)
    narrow = TINY if tiny else {}
    G = build_generator(dataclasses.replace(make_config(kind, res), **narrow)).to(device)
    D = Discriminator(DiscriminatorConfig(c_dim=0, img_resolution=res, img_channels=3, **narrow))
    D = D.eval().requires_grad_(False)
    D = D.to(device)
    target = torch.rand(1, 3, res, res, device=device) * 2 - 1
    marks, memory = [], []

    def progress(p):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        marks.append(time.perf_counter())
        memory.append(memory_bytes(device))

    settings = ProjectionSettings(steps=steps, w_avg_samples=1000)
    project(G, target, settings, D=D, progress=progress)
    per_step = statistics.median(b - a for a, b in zip(marks, marks[1:]))
    return dict(kind=kind, res=res, step_s=per_step, bare_s=bare_step_s(G, device, repeats=min(steps - 1, 3)),
                mem_second=memory[1], mem_last=memory[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--res", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--configs", nargs="+", default=["stylegan2", "stylegan3-t"], choices=CONFIGS)
    parser.add_argument("--steps", type=int, default=6, help="projection steps per row (the first is not timed)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--impl", nargs="+", help=argparse.SUPPRESS)  # device_and_impls reads it; unused here
    parser.add_argument("--tiny", action="store_true", help="narrow generator and discriminator (dry runs)")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    device, _ = device_and_impls(parser, args)
    if args.steps < 3:
        parser.error("--steps must be at least 3 (one warm-up step, then at least two timed)")
    warnings.filterwarnings("ignore", message=".*gradient is needed.*")
    print(f"device {device}, {torch.get_num_threads()} threads, {args.steps} steps per row, pixel + discriminator loss")
    print(f"{'model':<12} {'res':>5} {'steps/s':>8} {'step ms':>9} {'G fwd+bwd ms':>13} {'step / G':>9} "
          f"{'memory growth':>14}")
    rows = []
    for res in args.res:
        for kind in args.configs:
            row = projection_row(kind, res, device, args.steps, args.tiny)
            growth = (row["mem_last"] - row["mem_second"]) / 2 ** 20
            print(f"{kind:<12} {res:>5} {1 / row['step_s']:>8.2f} {row['step_s'] * 1e3:>9.0f} "
                  f"{row['bare_s'] * 1e3:>13.0f} {row['step_s'] / row['bare_s']:>8.2f}x {growth:>+11.1f} MiB",
                  flush=True)
            rows.append(dict(row, steps_per_s=1 / row["step_s"], memory_growth_mib=growth))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(device=str(device), rows=rows), fh, indent=1)


if __name__ == "__main__":
    main()
