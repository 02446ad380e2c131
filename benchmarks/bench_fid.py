"""FID feature speed: images per second through eqviz's Inception on this machine, and what the rest costs.

Batched extraction is compared with the first batch size (the baseline, timed in the same run), for
both pipelines, at the given input sizes (resized to 299² inside, as every FID image is). It also
times the streamed statistics per image (with and without the bootstrap replicates) and one 2048-d
Fréchet distance, the fixed cost of every FID. Weights are random: speed does not depend on their
values. Times are the minimum over repeats (the machine may be shared).

--estimate runs `compute_fid_kid` itself, end to end, on a random-weight StyleGAN3-T at NVIDIA's
capacity (a few hundred generated images against a folder of PNGs it writes at the generator's
resolution, Inception loaded from a file as a user's would be) and scales the per-image times of the
two sides to `fid50k_full`: 50,000 generated images against every real image of a dataset the size of
FFHQ (70,000), and with the real statistics already cached. The first batch of each side is left
out of the rates (cuDNN's algorithm search and first-call allocations).

    python benchmarks/bench_fid.py [--threads 2] [--batches 1 8 32] [--device cpu]
    python benchmarks/bench_fid.py --device cuda --resolution 256 1024 --batches 32 64 --estimate [--json out.json]
    python benchmarks/bench_fid.py --resolution 64 --batches 2 4 --estimate --tiny --estimate-res 64 \\
        --generated 8 --real 4 --estimate-batch 2                                  # dry run on the CPU
"""
import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench_gpu import build  # noqa: E402
from eqviz.metrics.fid.compute import PROTOCOL_NUM_SAMPLES, compute_fid_kid  # noqa: E402
from eqviz.metrics.fid.frechet import frechet_distance  # noqa: E402
from eqviz.metrics.fid.inception import FEATURE_DIM, InceptionV3FID, load_inception  # noqa: E402
from eqviz.metrics.fid.sources import GeneratorSamples  # noqa: E402
from eqviz.metrics.fid.statistics import FeatureStatistics  # noqa: E402
from eqviz.metrics.processes import full_float32  # noqa: E402

FFHQ_IMAGES = 70000  # the real side of NVIDIA's fid50k_full for its 1024² FFHQ models


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def finish(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def feature_rates(args) -> list:
    """Images per second through the Inception, per pipeline, input size and batch size."""
    rows = []
    for resolution in args.resolution:
        images = torch.randint(0, 256, (max(args.batches), 3, resolution, resolution), dtype=torch.uint8)
        print(f"Inception features, {resolution}² uint8 in, {torch.get_num_threads()} threads, {args.device}")
        for pipeline in args.pipelines:
            net = InceptionV3FID(pipeline).eval().requires_grad_(False).to(args.device)
            rates = {}
            with torch.no_grad(), full_float32():
                net(images[:1].to(args.device))  # warm-up
                for b in args.batches:
                    batch = images[:b].to(args.device)
                    net(batch)  # the first call at a new shape searches cuDNN's algorithms
                    rates[b] = b / best_of(lambda: (net(batch), finish(args.device)), args.repeats)
            base = rates[args.batches[0]]
            for b, rate in rates.items():
                rows.append(dict(pipeline=pipeline, resolution=resolution, batch=b, images_per_s=rate))
                print(f"  {pipeline:<11} batch {b:>3}: {rate:8.2f} images/s  ({rate / base:.2f}x batch {args.batches[0]})",
                      flush=True)
            del net
    return rows


def write_real_stand_ins(G, count: int, folder: Path, device, batch: int) -> None:
    """`count` PNGs at the generator's resolution (its own images, seed 1): the real side's decoding cost."""
    source = GeneratorSamples(G, "stand-in", seed=1, device=device)
    images = torch.cat([source.images(range(i, min(i + batch, count))).cpu() for i in range(0, count, batch)])
    images = images.permute(0, 2, 3, 1).numpy()
    with ThreadPoolExecutor(8) as pool:  # zlib releases the GIL
        list(pool.map(lambda i: Image.fromarray(images[i]).save(folder / f"{i:05d}.png"), range(count)))


def fid50k_estimate(args) -> dict:
    """compute_fid_kid end to end on a few images, scaled to fid50k_full (see the module's docstring)."""
    G = build("stylegan3-t", args.estimate_res, args.device, args.tiny).eval().requires_grad_(False)
    with tempfile.TemporaryDirectory() as tmp:
        real = Path(tmp) / "real"
        real.mkdir()
        write_real_stand_ins(G, args.real, real, args.device, args.estimate_batch)
        weights = Path(tmp) / "inception.pth"
        torch.save(InceptionV3FID("tf").state_dict(), weights)
        inception = load_inception(weights, pipeline="tf", device=args.device)
        marks = []
        result = compute_fid_kid(real, G, inception=inception, num_samples=args.generated,
                                 batch_size=args.estimate_batch, use_cache=False, device=args.device,
                                 progress=lambda done, total: marks.append((time.perf_counter(), done)))

    def per_image(side_marks) -> float:
        """Seconds per image over a side's batches after its first."""
        (t0, n0), (t1, n1) = side_marks[0], side_marks[-1]
        return (t1 - t0) / (n1 - n0)

    real_marks = [m for m in marks[1:] if m[1] <= args.real]    # ends of the real side's batches
    gen_marks = [m for m in marks if m[1] > args.real]            # ends of the generated side's batches
    real_s, gen_s = per_image(real_marks), per_image(gen_marks)
    fixed_s = result.elapsed_s - (marks[-1][0] - marks[0][0])
    n_gen = PROTOCOL_NUM_SAMPLES["fid50k_full"]
    row = dict(model=f"stylegan3-t-{args.estimate_res}{'-tiny' if args.tiny else ''}", batch=args.estimate_batch,
               generated_measured=args.generated, real_measured=args.real, generated_per_s=1 / gen_s,
               real_per_s=1 / real_s, fixed_s=fixed_s, dataset_images=args.dataset_size,
               fid50k_full_s=n_gen * gen_s + args.dataset_size * real_s + fixed_s,
               fid50k_full_cached_s=n_gen * gen_s + fixed_s)
    print(f"fid50k_full estimate, {row['model']}, batch {row['batch']} ({args.generated} generated and {args.real} real "
          f"images measured): generated {row['generated_per_s']:.1f} images/s (synthesis + features + statistics), "
          f"real {row['real_per_s']:.1f} images/s (PNG decoding + features), fixed {fixed_s:.1f} s -> "
          f"{row['fid50k_full_s'] / 60:.1f} min with {args.dataset_size} real images, "
          f"{row['fid50k_full_cached_s'] / 60:.1f} min with the real statistics cached", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--resolution", type=int, nargs="+", default=[64], help="input sizes (square)")
    parser.add_argument("--pipelines", nargs="+", default=["tf", "pytorch-fid"], choices=["tf", "pytorch-fid"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--estimate", action="store_true", help="also the fid50k_full estimate (compute_fid_kid)")
    parser.add_argument("--estimate-res", type=int, default=1024, help="the estimate's StyleGAN3-T resolution")
    parser.add_argument("--estimate-batch", type=int, default=32, help="compute_fid_kid's batch size")
    parser.add_argument("--generated", type=int, default=256, help="generated images the estimate measures")
    parser.add_argument("--real", type=int, default=64, help="real stand-in images the estimate measures")
    parser.add_argument("--dataset-size", type=int, default=FFHQ_IMAGES, help="real images of fid50k_full")
    parser.add_argument("--tiny", action="store_true", help="a narrow StyleGAN3-T for the estimate (dry runs)")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    if args.estimate and min(args.real, args.generated) < 3 * args.estimate_batch:
        parser.error("--real and --generated need at least 3 batches of --estimate-batch each (the first is not timed)")
    torch.set_num_threads(args.threads)
    if torch.device(args.device).type == "cuda":
        torch.backends.cudnn.benchmark = True
    numbers = dict(device=args.device, features=feature_rates(args))

    features = torch.rand(32, FEATURE_DIM, dtype=torch.float64)
    plain = best_of(lambda: FeatureStatistics(FEATURE_DIM).add(features, range(32)), args.repeats) / 32
    boot = best_of(lambda: FeatureStatistics(FEATURE_DIM, 10).add(features, range(32)), args.repeats) / 32
    print(f"streamed statistics: {plain * 1e3:.2f} ms/image, with 10 bootstrap replicates {boot * 1e3:.2f} ms/image "
          f"({boot / plain:.1f}x)")
    x = np.random.default_rng(0).standard_normal((4096, FEATURE_DIM))
    sigma = np.cov(x, rowvar=False)
    mu = x.mean(0)
    numbers["frechet_s"] = best_of(lambda: frechet_distance(mu, sigma, mu + 0.1, sigma), 1)
    print(f"one 2048-d Fréchet distance: {numbers['frechet_s']:.2f} s", flush=True)
    if args.estimate:
        numbers["fid50k_full"] = fid50k_estimate(args)
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=1))


if __name__ == "__main__":
    main()
