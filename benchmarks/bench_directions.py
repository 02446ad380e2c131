"""Times SeFa and GANSpace for a full-capacity generator (default: NVIDIA's stylegan3-r config at 1024²,
random weights; directions need only the mapping network and the style affines, so the time does not
depend on the resolution beyond the affines' sizes).

    python3 benchmarks/bench_directions.py                          # stylegan3-r 1024², N = 10^5
    python3 benchmarks/bench_directions.py --num-samples 1000000    # the full 10^6
    python3 benchmarks/bench_directions.py --device cuda

Baselines measured in the same run:
  * SeFa: eigen-decomposing A Aᵀ ([w_dim, w_dim]) against the SVD of the stacked, column-normalised
    weights A itself ([w_dim, total units]), the textbook form of the same factorisation.
  * GANSpace: the streamed PCA (running float64 sums, one batch in memory) against mapping every sample
    into memory and taking numpy's SVD, at --in-memory-samples (where the in-memory form still fits),
    with peak resident memory of each; the streamed time at N is measured, and 10^6 extrapolated from
    it linearly when N is smaller (labelled as such).
"""
import argparse
import sys
import time

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does; before torch

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402

from bench_synthesis import CONFIGS, make_config  # noqa: E402
from eqviz.directions.ganspace import ganspace  # noqa: E402
from eqviz.directions.sefa import sefa, stacked_style_weights  # noqa: E402
from eqviz.directions.layers import default_layers  # noqa: E402
from eqviz.directions.w_statistics import mapped_w_batches  # noqa: E402
from eqviz.networks.build import build_generator  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="stylegan3-r", choices=CONFIGS)
    parser.add_argument("--res", type=int, default=1024)
    parser.add_argument("--num-samples", type=int, default=100_000, help="GANSpace samples timed (default 10^5)")
    parser.add_argument("--in-memory-samples", type=int, default=20_000, help="samples of the in-memory baseline")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    torch.manual_seed(0)
    G, build_s = timed(lambda: build_generator(make_config(args.config, args.res)).eval().to(device))
    units = stacked_style_weights(G, default_layers(G)).shape[1]
    print(f"# {args.config} {args.res}², w_dim {G.w_dim}, num_ws {G.num_ws}, {units} style units in the default layers; "
          f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; built in {build_s:.1f} s",
          flush=True)

    # ---- SeFa -----------------------------------------------------------------------------------
    with torch.no_grad():
        sefa(G, num=20, scale_samples=256)  # warm-up
        found, sefa_s = timed(lambda: sefa(G, num=20))
        A = stacked_style_weights(G, found.layers)
        factor_s = timed(lambda: np.linalg.eigh(A @ A.T))[1]
        svd_s = timed(lambda: np.linalg.svd(A, full_matrices=False))[1]
    print(f"SeFa: {sefa_s:.2f} s in all (eigh of A Aᵀ {factor_s:.2f} s + sigma of W from 4096 samples); "
          f"baseline SVD of A [{G.w_dim}, {units}]: {svd_s:.2f} s => eigh of A Aᵀ {svd_s / factor_s:.1f}x faster", flush=True)

    # ---- GANSpace: streamed against in-memory at the baseline size --------------------------------
    n_mem = args.in_memory_samples
    with torch.no_grad():
        before = rss_mib()
        _, streamed_small_s = timed(lambda: ganspace(G, num=20, num_samples=n_mem))
        streamed_peak = rss_mib() - before

        def in_memory():
            w = torch.cat([w.double().cpu() for w in mapped_w_batches(G, n_mem)]).numpy()
            _, s, vt = np.linalg.svd(w - w.mean(axis=0), full_matrices=False)
            return vt[:20], s[:20] ** 2 / (len(w) - 1)

        before = rss_mib()
        _, memory_s = timed(in_memory)
        memory_peak = rss_mib() - before
    print(f"GANSpace at N={n_mem}: streamed {streamed_small_s:.2f} s (RSS +{streamed_peak:.0f} MiB) vs in-memory "
          f"SVD {memory_s:.2f} s (RSS +{memory_peak:.0f} MiB, {n_mem * G.w_dim * 8 / 2**20:.0f} MiB of samples) "
          f"=> {memory_s / streamed_small_s:.2f}x", flush=True)

    # ---- GANSpace at N ----------------------------------------------------------------------------
    with torch.no_grad():
        _, big_s = timed(lambda: ganspace(G, num=20, num_samples=args.num_samples))
    rate = args.num_samples / big_s
    line = f"GANSpace at N={args.num_samples}: {big_s:.1f} s measured ({rate:,.0f} samples/s)"
    if args.num_samples < 1_000_000:
        line += f"; N=10^6 extrapolated linearly: {1_000_000 / rate:.0f} s"
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
