"""Video throughput against raw synthesis of the same frames (target: ratio >= 0.9).

For each model and motion, times (a) the raw generator work — the latents and synthesis calls of
every frame, exactly as the video makes them — and (b) `render_video` writing an H.264 MP4 (layout,
uint8 conversion and encoding on a thread). Wall times are the minimum over repeats, alternating
the two, because the machine may be shared. The CPU ratio counts the CPU time of both, ffmpeg's
included: it is what the video costs on top of synthesis when no core is idle to hide it.

    python benchmarks/bench_video.py [--frames64 60] [--frames256 16] [--repeats 3] [--threads 2]
    python benchmarks/bench_video.py --tiny [--device cuda]
    python benchmarks/bench_video.py --device cuda --sizes 256 1024 [--json out.json]   # NVIDIA's capacity, MP4,
                                                                                        # rotation and keyframes

--tiny uses a generator so small that synthesis costs almost nothing: the ratio then measures the
pipeline's own per-frame work (latents, transforms, uint8, layout, hand-off, PNG / MP4 encoding).
"""
import argparse
import json
import math
import resource
import tempfile
import time
from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

from pathlib import Path

import torch

import eqviz.networks
from eqviz.networks.build import build_generator
from eqviz.networks.config import config_from_init_kwargs
from eqviz.video.motions import Motion
from eqviz.keyframes.video import KeyframeSource
from eqviz.video.render import FrameSource, VideoSpec, render_video
from bench_gpu import build
from bench_keyframes import animation as keyframe_animation

KEYFRAMES, KEYFRAME_FPS = 4, 30.0  # the --sizes keyframe animation: bench_keyframes' default

REFERENCE_64 = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "pkl" / "sg3t_64.pkl"


def tiny_generator(resolution: int, device) -> torch.nn.Module:
    """A StyleGAN3-T with almost no capacity: synthesis is fast, so pipeline overhead shows."""
    kwargs = dict(z_dim=16, w_dim=16, c_dim=0, img_resolution=resolution, img_channels=3,
                  channel_base=256, channel_max=8, mapping_kwargs={"num_layers": 2})
    return build_generator(config_from_init_kwargs("stylegan3-t", kwargs)).eval().requires_grad_(False).to(device)


def random_generator_256(device) -> torch.nn.Module:
    """A 256^2 StyleGAN3-T with reduced width (full width takes ~11 s per frame on 2 CPU cores)."""
    kwargs = dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=256, img_channels=3,
                  channel_base=4096, channel_max=128, mapping_kwargs={"num_layers": 2})
    return build_generator(config_from_init_kwargs("stylegan3-t", kwargs)).eval().requires_grad_(False).to(device)


@torch.no_grad()
def raw_seconds(source: FrameSource) -> float:
    """Latents + synthesis of every frame, batched and grouped by pose as the video does (a keyframe
    animation synthesises the frames at keyframe times on their own: its runs are followed too)."""
    track, batch = source.tracks[0], source.spec.batch
    start = time.perf_counter()
    for first in range(0, source.count, batch):
        indices = range(first, min(first + batch, source.count))
        for run in source.groups(indices) if isinstance(source, KeyframeSource) else [indices]:
            source.synthesize_frames(track.G, source.latents(track, run), [source.poses[i] for i in run], [])
    _finish_device_work(source.device)
    return time.perf_counter() - start


def _finish_device_work(device) -> None:
    """GPU calls only queue work: wait for it, or the raw rate would count launches, not frames."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def video_seconds(spec: VideoSpec, generators, make_source) -> float:
    result = render_video(spec, generators=generators, make_source=make_source)
    return result.seconds


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ffmpeg encoders)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measured(fn, *args) -> tuple[float, float]:
    """(wall, cpu) seconds of one call."""
    cpu = cpu_seconds()
    wall = fn(*args)
    return wall, cpu_seconds() - cpu


def bench(name: str, G, motion: Motion | None, frames: int, seeds, batch: int, repeats: int, device: str,
          out: str = "bench.mp4") -> dict:
    """One row; motion None: a keyframe animation of `frames` frames instead (bench_keyframes' four keyframes,
    each a new seed, psi, translation and rotation, eased)."""
    with tempfile.TemporaryDirectory() as tmp:
        if motion is None:
            anim = keyframe_animation(KEYFRAMES, (frames - 1) / KEYFRAME_FPS)
            spec = VideoSpec(checkpoints=[name], out=str(Path(tmp) / out), fps=KEYFRAME_FPS, batch=batch, device=device,
                             overwrite=True)
            make_source = lambda s, named: KeyframeSource(s, anim, named)  # noqa: E731
        else:
            spec = VideoSpec(checkpoints=[name], out=str(Path(tmp) / out), motion=motion, seeds=seeds,
                             frames=frames, batch=batch, device=device, overwrite=True)
            make_source = FrameSource
        generators = [(name, G)]
        source = make_source(spec, generators)
        source.render([0])  # warm-up: first-call allocations and filter caches
        raw, video, raw_cpu, video_cpu = math.inf, math.inf, math.inf, math.inf
        for _ in range(repeats):
            wall, cpu = measured(raw_seconds, source)
            raw, raw_cpu = min(raw, wall), min(raw_cpu, cpu)
            wall, cpu = measured(video_seconds, spec, generators, make_source)
            video, video_cpu = min(video, wall), min(video_cpu, cpu)
    row = dict(model=name, motion="keyframes" if motion is None else ",".join(motion.kinds),
               output="png" if Path(out).suffix == "" else Path(out).suffix[1:],
               frames=frames, batch=batch, raw_fps=frames / raw, video_fps=frames / video, ratio=raw / video,
               cpu_ratio=raw_cpu / video_cpu)
    print(f"{name:>10} {row['motion']:>6} {row['output']:>4}  {frames:4d} frames  raw synthesis {row['raw_fps']:7.2f} fps  "
          f"video {row['video_fps']:7.2f} fps  ratio {row['ratio']:5.3f}  (CPU ratio {row['cpu_ratio']:5.3f})", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames64", type=int, default=60)
    parser.add_argument("--frames256", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--models", default="64,256", help="which of the 64-px and 256-px models to run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tiny", action="store_true", help="pipeline overhead with tiny 64-px and 256-px generators, PNG folder and MP4")
    parser.add_argument("--frames", type=int, default=120, help="frames per --tiny video")
    parser.add_argument("--sizes", type=int, nargs="+",
                        help="instead: StyleGAN3-T at NVIDIA's capacity (random weights) at these resolutions, rotation "
                             "and a keyframe animation, MP4, --frames frames in batches of --batch (with --tiny: the "
                             "tiny generator)")
    parser.add_argument("--batch", type=int, default=8, help="frames per synthesis call with --sizes")
    parser.add_argument("--json", help="with --sizes: also write every number to this file")
    args = parser.parse_args()
    models = set(args.models.split(","))
    torch.set_num_threads(args.threads)
    if args.sizes:
        rows = []
        for resolution in args.sizes:
            torch.manual_seed(0)
            G = tiny_generator(resolution, args.device) if args.tiny else \
                build("stylegan3-t", resolution, args.device).eval().requires_grad_(False)
            name = f"{'tiny' if args.tiny else 'sg3t'}_{resolution}"
            for motion in (Motion(kinds=("rotate",)), None):  # None: the keyframe animation
                rows.append(bench(name, G, motion, args.frames, [5], args.batch, args.repeats, args.device))
            del G
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
        return
    if args.tiny:
        torch.manual_seed(0)
        rotate = Motion(kinds=("rotate",))
        for resolution in (64, 256):
            G = tiny_generator(resolution, args.device)
            for out in ("frames", "bench.mp4"):
                bench(f"tiny_{resolution}", G, rotate, args.frames, [5], 8, args.repeats, args.device, out=out)
        return

    walk = Motion(kinds=("walk",))
    rotate = Motion(kinds=("rotate",))
    if "64" in models:
        g64 = eqviz.networks.load_generator(str(REFERENCE_64), device=args.device)
        bench("sg3t_64", g64, rotate, args.frames64, [5], 8, args.repeats, args.device)
        bench("sg3t_64", g64, walk, args.frames64, [1, 2, 3, 4], 8, args.repeats, args.device)
    if "256" in models:
        g256 = random_generator_256(args.device)
        bench("sg3t_256", g256, rotate, args.frames256, [5], 4, args.repeats, args.device)
        bench("sg3t_256", g256, walk, args.frames256, [1, 2, 3, 4], 4, args.repeats, args.device)


if __name__ == "__main__":
    main()
