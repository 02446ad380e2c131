"""The app's frame renderer without a window: request to a display-ready frame, against bare synthesis.

The app asks its render worker for a frame (a RenderRequest from the UI state) and shows the
float32 RGBA texture and keeps the uint8 picture the worker returns. This times that whole path
(mapping, synthesis at the requested pose, RGBA and uint8 conversion, the copy to the host) for a
rotating StyleGAN3 at NVIDIA's capacities, against the same mapping + synthesis alone, each pose
new so no cache helps, and prints the ratio (the app's cost on top of the generator).

    python3 benchmarks/bench_frame_renderer.py [--device cuda] [--res 1024] [--kinds stylegan3-t stylegan3-r]
    python3 benchmarks/bench_frame_renderer.py --tiny --res 64 --frames 3     # dry run
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import torch  # noqa: E402

from bench_gpu import build  # noqa: E402
from eqviz.app.frame_renderer import FrameRenderer, build_request  # noqa: E402
from eqviz.app.state import AppState  # noqa: E402
from eqviz.core.rendering import session_pose  # noqa: E402
from eqviz.core.input_transform import synthesize_posed  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_frames(render_one, frames: int, device) -> float:
    """Median milliseconds of render_one(i) over frames calls, after one warm-up."""
    render_one(0)
    sync(device)
    times = []
    for i in range(1, frames + 1):
        t0 = time.perf_counter()
        render_one(i)
        sync(device)
        times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def bench(kind: str, resolution: int, frames: int, device, tiny=False) -> dict:
    G = build(kind, resolution, device, tiny).eval()
    renderer = FrameRenderer(G, str(device))
    state = AppState()
    state.resolution = G.img_resolution

    def app_frame(i):
        state.set_rotate(3.0 * i)
        result = renderer.render(build_request(state, stamp=i))
        if result.error:
            raise SystemExit(result.error)
        assert result.picture is not None and result.picture.dtype.name == "uint8"

    z = torch.randn(1, G.z_dim, device=device)
    c = torch.zeros(1, 0, device=device)

    @torch.no_grad()
    def bare_frame(i):
        state.set_rotate(3.0 * i)
        synthesize_posed(G, G.mapping(z, c), session_pose(state.session))

    row = dict(model=f"{kind}-{resolution}", app_ms=time_frames(app_frame, frames, device),
               bare_ms=time_frames(bare_frame, frames, device))
    print(f"  {row['model']:18s} app frame {row['app_ms']:9.2f} ms  bare synthesis {row['bare_ms']:9.2f} ms  "
          f"app/bare {row['app_ms'] / row['bare_ms']:5.2f}", flush=True)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--res", type=int, default=1024)
    parser.add_argument("--kinds", nargs="+", default=["stylegan3-t", "stylegan3-r"])
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--tiny", action="store_true", help="narrow models (dry runs), not NVIDIA's capacities")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    rows = [bench(kind, args.res, args.frames, device, args.tiny) for kind in args.kinds]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
