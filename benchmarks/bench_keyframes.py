"""Keyframe video throughput against the rotate motion's, same model, frames, batch and output.

The keyframe video interpolates W and pose per frame and synthesises the frames at keyframe times
on their own (so they match `eqviz render --session` pixel for pixel); the rotate video only turns.
A ratio near 1 means the interpolation costs nothing measurable. Wall times are the minimum over
repeats, alternating the two, because the machine may be shared.

    python benchmarks/bench_keyframes.py [--frames 120] [--keyframes 4] [--repeats 3] [--out mp4|png]
"""
import argparse
import dataclasses
import math
import os
import tempfile
from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

from pathlib import Path

import torch

import eqviz.networks
from eqviz.core.session import Session
from eqviz.keyframes.animation import Animation, Keyframe
from eqviz.keyframes.video import render_keyframe_video
from eqviz.video.motions import Motion
from eqviz.video.render import VideoSpec, render_video

REFERENCE = Path(os.environ.get("EQVIZ_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "reference")) / "pkl"


def animation(keyframes: int, seconds: float) -> Animation:
    """Keyframes evenly spread over the video, each a new seed, psi, translation and rotation."""
    step = seconds / (keyframes - 1)
    return Animation(tuple(
        Keyframe(k * step, Session(latent_x=float(k), psi=1.0 - 0.1 * k, translate=(0.05 * k, -0.03 * k),
                                   rotate_deg=math.remainder(70.0 * k, 360.0)), easing="ease-in-out")
        for k in range(keyframes)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REFERENCE / "sg3t_64.pkl"))
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--keyframes", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--out", choices=("mp4", "png"), default="mp4")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    named = [("model", eqviz.networks.load_generator(args.model, device=args.device))]
    anim = animation(args.keyframes, (args.frames - 1) / args.fps)
    best = {"rotate": math.inf, "keyframes": math.inf}
    with tempfile.TemporaryDirectory() as tmp:
        def spec(name, **motion):
            return VideoSpec(checkpoints=["model"], out=str(Path(tmp) / (name if args.out == "png" else f"{name}.mp4")),
                             fps=args.fps, batch=args.batch, device=args.device, overwrite=True, **motion)

        rotate = spec("rotate", motion=Motion(kinds=("rotate",)), seeds=[5], frames=args.frames)
        render_video(dataclasses.replace(rotate, frames=8), generators=named)  # warm-up
        for _ in range(args.repeats):
            best["rotate"] = min(best["rotate"], render_video(rotate, generators=named).seconds)
            result = render_keyframe_video(anim, spec("keyframes"), generators=named)
            best["keyframes"] = min(best["keyframes"], result.seconds)
    assert result.frames == args.frames
    rates = {k: args.frames / v for k, v in best.items()}
    print(f"{Path(args.model).name} {args.frames} frames, {args.keyframes} keyframes, batch {args.batch}, {args.out}, "
          f"{args.device}: rotate {rates['rotate']:.2f} fps, keyframes {rates['keyframes']:.2f} fps, "
          f"ratio keyframes/rotate {rates['keyframes'] / rates['rotate']:.3f}")


if __name__ == "__main__":
    main()
