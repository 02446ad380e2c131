"""App responsiveness and memory: UI frame rate while rendering, slider-to-screen latency, RSS growth.

Runs the real app in a window (use `xvfb-run -a` on a headless machine) and drives it through the
widgets' own callbacks, like a user:
  1. animation: translation circle + rotation for --seconds; UI fps, rendered fps, frame-time split;
  2. slider latency: --slider-moves rotation changes, each waiting for its frame to be on screen;
     reports request -> displayed against the same frame rendered bare right after (no UI frames
     drawn meanwhile), move by move; between moves the UI falls asleep as it does for a user;
  3. memory: keeps animating until --frames rendered frames were shown; RSS after warm-up vs end.

    xvfb-run -a python3 benchmarks/bench_app.py ../shared/reference/pkl/sg3t_64.pkl --frames 10000
"""
import argparse
import json
import statistics
import time

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import dearpygui.dearpygui as dpg
import psutil
import torch

from eqviz.app.app import App, AppOptions
from eqviz.app.display import display_problem
from eqviz.app.frame_renderer import build_request


def _step_until(app: App, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not app.step():
            raise SystemExit("the window closed")
        if condition():
            return
    raise SystemExit(f"timed out after {timeout} s (status: {app.status})")


def _fire(tag: str, value) -> None:
    dpg.set_value(tag, value)
    dpg.get_item_callback(tag)(tag, value, None)


def _motion_toggles(app: App) -> tuple[str, ...]:
    """Translation + rotation where the generator has an input transform, else the seed walk."""
    return ("transform_anim_t", "transform_anim_r") if app.model.supports_input_transform else ("latent_animate",)


def animation_phase(app: App, seconds: float) -> dict:
    for tag in _motion_toggles(app):
        _fire(tag, True)
    app.stats.__init__()
    end = time.monotonic() + seconds
    _step_until(app, lambda: time.monotonic() > end, seconds + 60)
    summary = app.stats.summary(time.perf_counter())
    summary["frames_shown"] = app.stats.frames_shown
    summary["render_errors"] = app.stats.errors
    for tag in _motion_toggles(app):
        _fire(tag, False)
    _step_until(app, lambda: app.idle, 60)
    return summary


def slider_phase(app: App, moves: int) -> dict:
    """Each move: request -> displayed in the app, then the same frame rendered bare (no UI frames
    drawn meanwhile), interleaved so that machine drift hits both alike. The bar for big models is
    latency <= 1.1 x bare + 20 ms."""
    latencies, synthesis, bare = [], [], []
    for i in range(moves):
        before = app.stats.frames_shown
        if app.model.supports_input_transform:
            _fire("transform_rot", float((i * 37) % 360 - 180))
        else:
            _fire("latent_psi", 0.5 + 0.05 * (i % 10))
        _step_until(app, lambda: app.idle and app.stats.frames_shown > before, 600)
        latencies.append(app.stats.latency_ms[-1])
        synthesis.append(app.stats.synthesis_ms[-1] + app.stats.mapping_ms[-1])
        start = time.perf_counter()
        app.worker.render_here(build_request(app.state, stamp=-1))
        bare.append((time.perf_counter() - start) * 1000)
    latency, bare_ms = statistics.median(latencies), statistics.median(bare)
    return {"moves": moves, "latency_ms_median": latency, "latency_ms_max": max(latencies),
            "render_ms_median": statistics.median(synthesis), "bare_render_ms_median": bare_ms,
            "latency_over_bare": latency / bare_ms, "within_bar": latency <= 1.1 * bare_ms + 20}


def memory_phase(app: App, frames: int) -> dict:
    process = psutil.Process()
    for tag in _motion_toggles(app):
        _fire(tag, True)
    warm = min(200, frames // 10)
    start_count = app.stats.frames_shown
    _step_until(app, lambda: app.stats.frames_shown - start_count >= warm, 3600)
    rss_warm = process.memory_info().rss
    t0 = time.monotonic()
    _step_until(app, lambda: app.stats.frames_shown - start_count >= frames, 24 * 3600)
    rss_end = process.memory_info().rss
    return {"frames": app.stats.frames_shown - start_count, "seconds": time.monotonic() - t0,
            "rss_mib_after_warmup": rss_warm / 2**20, "rss_mib_end": rss_end / 2**20,
            "rss_growth_mib": (rss_end - rss_warm) / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on 2 cores the UI thread needs the other one)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--slider-moves", type=int, default=15)
    parser.add_argument("--frames", type=int, default=10000, help="rendered frames for the memory phase (0: skip)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    problem = display_problem()
    if problem is not None:
        raise SystemExit(f"{problem}: run under `xvfb-run -a`")
    torch.set_num_threads(args.threads)
    app = App(AppOptions(checkpoint=args.checkpoint, device=args.device))
    app.start()
    try:
        _step_until(app, lambda: app.model is not None and app.idle and app.last_result is not None, 300)
        results = {"checkpoint": args.checkpoint, "device": args.device, "threads": args.threads,
                   "model": app.model.summary}
        results["animation"] = animation_phase(app, args.seconds)
        print(json.dumps({"animation": results["animation"]}), flush=True)
        if args.slider_moves:
            results["slider"] = slider_phase(app, args.slider_moves)
            print(json.dumps({"slider": results["slider"]}), flush=True)
        if args.frames:
            results["memory"] = memory_phase(app, args.frames)
            print(json.dumps({"memory": results["memory"]}), flush=True)
    finally:
        app.shutdown()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
