"""FID feature speed: images per second through eqviz's Inception on this machine, and what the rest costs.

Batched extraction is compared with one image per call (the baseline, timed in the same run), for
both pipelines, at 64² inputs (resized to 299² inside, as every FID image is). It also times the
streamed statistics per image (with and without the bootstrap replicates) and one 2048-d Fréchet
distance, the fixed cost of every FID. Weights are random: speed does not depend on their values.
Times are the minimum over repeats (the machine may be shared).

    python benchmarks/bench_fid.py [--threads 2] [--batches 1 8 32] [--device cpu]
"""
import argparse
import time

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import numpy as np
import torch

from eqviz.metrics.fid.frechet import frechet_distance
from eqviz.metrics.fid.inception import FEATURE_DIM, InceptionV3FID
from eqviz.metrics.fid.statistics import FeatureStatistics


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = torch.randint(0, 256, (max(args.batches), 3, args.resolution, args.resolution), dtype=torch.uint8)
    print(f"Inception features, {args.resolution}² uint8 in, {args.threads} threads, {args.device}")
    for pipeline in ("tf", "pytorch-fid"):
        net = InceptionV3FID(pipeline).eval().requires_grad_(False).to(args.device)
        rates = {}
        with torch.no_grad():
            net(images[:1].to(args.device))  # warm-up
            for b in args.batches:
                batch = images[:b].to(args.device)
                rates[b] = b / best_of(lambda: net(batch), args.repeats)
        base = rates[args.batches[0]]
        for b, rate in rates.items():
            print(f"  {pipeline:<11} batch {b:>3}: {rate:7.2f} images/s  ({rate / base:.2f}x batch {args.batches[0]})")

    features = torch.rand(32, FEATURE_DIM, dtype=torch.float64)
    plain = best_of(lambda: FeatureStatistics(FEATURE_DIM).add(features, range(32)), args.repeats) / 32
    boot = best_of(lambda: FeatureStatistics(FEATURE_DIM, 10).add(features, range(32)), args.repeats) / 32
    print(f"streamed statistics: {plain * 1e3:.2f} ms/image, with 10 bootstrap replicates {boot * 1e3:.2f} ms/image "
          f"({boot / plain:.1f}x)")
    x = np.random.default_rng(0).standard_normal((4096, FEATURE_DIM))
    sigma = np.cov(x, rowvar=False)
    mu = x.mean(0)
    print(f"one 2048-d Fréchet distance: {best_of(lambda: frechet_distance(mu, sigma, mu + 0.1, sigma), 1):.2f} s")


if __name__ == "__main__":
    main()
