"""eqviz's CPU synthesis against NVIDIA's own generator code, in one process, quiet and beside busy neighbours.

    python3 benchmarks/bench_vs_nvidia.py                                   # 256², batch 1, all three configs
    python3 benchmarks/bench_vs_nvidia.py --configs stylegan2 --res 256 1024 --batch 1 4
    python3 benchmarks/bench_vs_nvidia.py --configs stylegan3-t --busy 2    # beside two 2-thread torch jobs
    python3 benchmarks/bench_vs_nvidia.py --configs stylegan2 --cpu-time    # one thread, CPU time: a shared machine

NVIDIA's `training/networks_stylegan{2,3}.py` (NVlabs/stylegan3) are imported from an ignored checkout
(`--nvidia-repo`, default `.nvlabs/stylegan3`, with its torch_utils/, dnnlib/ and training/) and built
with the very weights of the eqviz generator (same state dict, strict). On the CPU NVIDIA's ops run their
pure-PyTorch reference, as NVIDIA's tools do there. Both run in this process, as `import eqviz` leaves it
(`eqviz.process_tuning`), after the outputs are checked to agree; then the two take turns, eqviz, NVIDIA,
eqviz, NVIDIA..., so that a stretch of interference from other tenants hits both alike, and the ratio is
taken from the fastest run of each (the run least disturbed by others).

`--busy N` starts N background processes, each a plain 2-thread torch loop (convolutions and element-wise
ops, as another render or metric job would run) for the duration of the timing, and the ratio is printed
beside the quiet one measured the same way first. The load average is printed with every line: on a
shared machine "quiet" means only what the other tenants leave.
"""
import argparse
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import eqviz  # noqa: F401  (the library's process defaults, as a user's `import eqviz` applies them)
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_synthesis import CONFIGS, make_config  # noqa: E402
from eqviz.networks.build import build_generator  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUSY_LOOP = """
import torch
torch.set_num_threads(2)
x = torch.randn(1, 128, 96, 96)
w = torch.randn(128, 128, 3, 3)
while True:
    y = torch.nn.functional.conv2d(x, w, padding=1)
    y = torch.nn.functional.leaky_relu(y * 0.5 + 0.1, 0.2)
    x = y / (y.abs().amax() + 1)
"""


def import_nvidia_networks(repo: Path):
    """NVIDIA's networks_stylegan2 and networks_stylegan3 modules from a stylegan3 checkout (benchmark only)."""
    if not (repo / "training" / "networks_stylegan3.py").is_file():
        raise SystemExit(f"{repo} has no training/networks_stylegan3.py: unpack NVlabs/stylegan3 there "
                         "(git --git-dir=MIRROR archive HEAD torch_utils dnnlib training | tar -x -C DIR) "
                         "or pass --nvidia-repo")
    sys.path.insert(0, str(repo))
    try:  # NVIDIA's conv2d_gradfix imports parse_version from pkg_resources, gone from new setuptools
        import pkg_resources  # noqa: F401
    except ImportError:
        from packaging.version import parse

        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)
    # dnnlib imports requests for downloads this benchmark never makes
    sys.modules.setdefault("requests", types.ModuleType("requests"))
    from training import networks_stylegan2, networks_stylegan3

    return networks_stylegan2, networks_stylegan3


def nvidia_generator(modules, kind: str, config):
    """NVIDIA's Generator for an eqviz config, constructed as NVIDIA's train.py would."""
    sg2, sg3 = modules
    common = dict(z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim, img_resolution=config.img_resolution,
                  img_channels=config.img_channels, mapping_kwargs=dict(num_layers=config.mapping.num_layers),
                  channel_base=config.channel_base, channel_max=config.channel_max,
                  num_fp16_res=config.num_fp16_res, conv_clamp=config.conv_clamp)
    if kind == "stylegan2":
        return sg2.Generator(**common, architecture=config.architecture)
    return sg3.Generator(**common, conv_kernel=config.conv_kernel, use_radial_filters=config.use_radial_filters)


def eqviz_run(G, z, chosen: list):
    image = G.synthesis(G.mapping(z, None), noise_mode="const")
    chosen.append(torch.get_num_threads())  # what eqviz ran this time
    return image


def eqviz_fixed_run(G, z, threads: int):
    """eqviz kept on the process's given thread count (its timed choice of thread count switched off)."""
    torch.set_num_threads(threads)
    os.environ["EQVIZ_ADAPTIVE_THREADS"] = "0"
    try:
        return G.synthesis(G.mapping(z, None), noise_mode="const")
    finally:
        del os.environ["EQVIZ_ADAPTIVE_THREADS"]


def nvidia_run(G, z, threads: int):
    """NVIDIA's mapping + synthesis on the process's given thread count (eqviz may have lowered it for itself)."""
    torch.set_num_threads(threads)
    return G.synthesis(G.mapping(z, None), noise_mode="const")


def load_average() -> str:
    return "load %.1f/%.1f" % os.getloadavg()[:2]


def start_busy(count: int) -> list:
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP], env=env) for _ in range(count)]


def stop_busy(procs: list) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait()


def interleaved_min_ms(runs: dict, repeats: int, clock=time.perf_counter) -> dict:
    """name -> fastest ms (by `clock`) of runs[name](), the names taking turns run by run after one warm-up each."""
    for fn in runs.values():
        fn()
    best = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = clock()
            fn()
            best[name] = min(best[name], (clock() - start) * 1000)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--res", nargs="+", type=int, default=[256])
    parser.add_argument("--batch", nargs="+", type=int, default=[1])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each side (the fastest counts)")
    parser.add_argument("--busy", type=int, default=0,
                        help="also time beside this many background 2-thread torch processes")
    parser.add_argument("--with-fixed", action="store_true",
                        help="also time eqviz kept on the given thread count, without its timed choice")
    parser.add_argument("--cpu-time", action="store_true",
                        help="both on one thread, timed by this process's CPU time (less moved by other tenants)")
    parser.add_argument("--nvidia-repo", type=Path, default=ROOT / ".nvlabs" / "stylegan3")
    args = parser.parse_args(argv)
    modules = import_nvidia_networks(args.nvidia_repo.resolve())
    clock = time.perf_counter
    if args.cpu_time:
        torch.set_num_threads(1)
        os.environ["EQVIZ_ADAPTIVE_THREADS"] = "0"
        clock = time.process_time
    threads = torch.get_num_threads()
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores; fastest of "
          f"{args.repeats} interleaved runs after a warm-up{' (CPU time)' if args.cpu_time else ''}; "
          "mapping + synthesis, noise const", flush=True)

    for kind in args.configs:
        for res in args.res:
            config = make_config(kind, res)
            torch.manual_seed(0)
            ours = build_generator(config).eval()
            theirs = nvidia_generator(modules, kind, config).eval()
            theirs.load_state_dict(ours.state_dict(), strict=True)
            for batch in args.batch:
                z = torch.randn([batch, config.z_dim], generator=torch.Generator().manual_seed(1))
                with torch.inference_mode():
                    ws = ours.mapping(z, None)
                    a = ours.synthesis(ws, noise_mode="const")
                    b = theirs.synthesis(ws, noise_mode="const")
                    diff = (a - b).abs().max().item()
                    scale = b.abs().max().item()
                    chosen = []  # eqviz's thread count in each of its runs
                    runs = {"eqviz": lambda: eqviz_run(ours, z, chosen),
                            "nvidia": lambda: nvidia_run(theirs, z, threads)}
                    if args.with_fixed:
                        runs["fixed"] = lambda: eqviz_fixed_run(ours, z, threads)
                    settings = [("quiet", 0)] + ([(f"busy {args.busy}", args.busy)] if args.busy else [])
                    for label, busy in settings:
                        chosen.clear()
                        procs = start_busy(busy)
                        try:
                            if busy:
                                time.sleep(2)  # let the neighbours get going
                            best = interleaved_min_ms(runs, args.repeats, clock)
                            load = load_average()  # the 1-minute average covers the timed runs
                        finally:
                            stop_busy(procs)
                        ratio = best["nvidia"] / best["eqviz"]
                        fixed = (f"; eqviz on {threads} fixed threads {best['fixed']:.0f} ms, "
                                 f"{best['nvidia'] / best['fixed']:.2f}x") if "fixed" in best else ""
                        print(f"{kind:11s} {res:4d}² batch {batch} {label:7s}: eqviz {best['eqviz']:7.0f} ms "
                              f"({'/'.join(map(str, chosen[1:]))} threads), NVIDIA {best['nvidia']:7.0f} ms "
                              f"=> {ratio:5.2f}x{fixed} (max |diff| {diff:.1e} of {scale:.2f}; {load})", flush=True)
            del ours, theirs


if __name__ == "__main__":
    main()
