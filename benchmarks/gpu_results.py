"""The GPU check's numbers as a results page in the form of benchmarks/gpu_results_*.md.

gpu_check.py calls `render_results` after every step with everything measured so far; the page it
writes (OUT/gpu_results.md) is saved as benchmarks/gpu_results_<device>.md once a device run is in.
Every bar of the GPU issue gets one line: its number, and met / missed / not measured.
"""
import re
from collections import defaultdict

VIDEO_BAR = 0.9          # video pipeline / raw synthesis, at least
FRAME_RENDERER_BAR = 1.1  # the app's request -> frame / bare synthesis, at most
NVIDIA_PARITY = 1.0      # NVIDIA's ops time / eqviz's kernels time, at least
FP16_SPEED_BATCH = 8     # float16 must beat float32 from this batch size up


def numbers(check: dict, step_prefix: str):
    """The numbers of the first step whose name starts with `step_prefix`, or None."""
    for step in check["steps"]:
        if step["name"].startswith(step_prefix) and "numbers" in step:
            return step["numbers"]
    return None


def table(header: list, rows: list, text_columns: int = 1) -> list:
    """A markdown table: the first `text_columns` columns left-aligned, the numbers right-aligned."""
    align = [":--"] * text_columns + ["--:"] * (len(header) - text_columns)
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows), ""]


def verdict(check: dict, ok) -> str:
    if ok is None:
        return "not measured"
    if check["dry_run"]:
        return "dry run (CPU, tiny models)"
    return "met" if ok else "MISSED"


def bars(check: dict) -> list:
    rows = []
    video = numbers(check, "video") or []
    for row in video:
        rows.append((f"video >= {VIDEO_BAR} of raw synthesis, {row['model']} {row['motion']} {row['output']}",
                     f"{row['ratio']:.3f} ({row['video_fps']:.1f} vs {row['raw_fps']:.1f} fps)",
                     verdict(check, row["ratio"] >= VIDEO_BAR)))
    if not video:
        rows.append((f"video >= {VIDEO_BAR} of raw synthesis, 256² and 1024²", "", verdict(check, None)))
    fp16 = numbers(check, "float16") or []
    for row in fp16:  # faster is asked of batch 8; batch 1 is bound by launches, its speed is reported only
        speed_bar = row["batch"] >= FP16_SPEED_BATCH
        rows.append((f"float16 kernels within the bound{' and faster than float32' if speed_bar else ''}, "
                     f"{row['model']} batch {row['batch']}",
                     f"diff {row['kernels_vs_torch_fp16']:.1e} (bound {row['bound']:.1e}), "
                     f"fp32/fp16 {row['fp32_ms'] / row['fp16_ms']:.2f}",
                     verdict(check, row["passed"] and (not speed_bar or row["fp32_ms"] > row["fp16_ms"]))))
    if not fp16:
        rows.append(("float16 kernels within the bound and faster than float32 at 1024² batch 8", "", verdict(check, None)))
    nvidia = numbers(check, "eqviz kernels vs NVIDIA")
    for kind, model in (nvidia or {}).get("models", {}).items():
        for row in model["synthesis"]:
            ratio = row["nvidia_ms"] / row["eqviz_ms"]
            rows.append((f"eqviz's kernels at least NVIDIA's speed, {kind} whole synthesis batch {row['batch']}",
                         f"NVIDIA/eqviz {ratio:.2f}", verdict(check, ratio >= NVIDIA_PARITY)))
    if not nvidia:
        rows.append(("eqviz's kernels at least NVIDIA's speed, per layer and whole synthesis", "", verdict(check, None)))
    frames = numbers(check, "app frame renderer") or []
    for row in frames:
        ratio = row["app_ms"] / row["bare_ms"]
        rows.append((f"app request -> frame within {FRAME_RENDERER_BAR}x bare synthesis, {row['model']}",
                     f"{ratio:.2f} ({row['app_ms']:.1f} vs {row['bare_ms']:.1f} ms)",
                     verdict(check, ratio <= FRAME_RENDERER_BAR)))
    if not frames:
        rows.append((f"app request -> frame within {FRAME_RENDERER_BAR}x bare synthesis at 1024²", "", verdict(check, None)))
    tests = next((step for step in check["steps"] if step["name"] == "pytest -m cuda"), None)
    summary = test_summary(tests["tail"]) if tests else None
    rows.append(("pytest -m cuda passes with nothing skipped", summary or "",
                 verdict(check, None if tests is None or tests["rc"] == "skipped" else
                         tests["passed"] and summary is not None and "skipped" not in summary)))
    return table(["bar", "measured", "verdict"], rows, text_columns=3)


def test_summary(output: str) -> str | None:
    """pytest's last summary line ('98 passed, 2 skipped in 41.2s'), or None."""
    found = re.findall(r"^=*\s*(\d+ (?:passed|failed|skipped|error|deselected)[^\n=]*?)\s*=*$", output, re.MULTILINE)
    return found[-1] if found else None


def fp16_section(check: dict) -> list:
    rows = [(r["model"], r["batch"], r["fp16_layers"], f"{r['kernels_vs_torch_fp16']:.1e}", f"{r['bound']:.1e}",
             f"{r['fp16_vs_fp32']:.1e}", f"{r['fp32_ms']:.2f}", f"{r['fp16_ms']:.2f}", f"{r['fp32_ms'] / r['fp16_ms']:.2f}")
            for r in numbers(check, "float16") or []]
    return ["## float16 kernels against float32 (num_fp16_res=4)", "",
            *table(["model", "batch", "fp16 layers", "vs PyTorch float16", "bound", "vs float32", "fp32 ms", "fp16 ms",
                    "fp32/fp16 ratio"], rows)] if rows else []


def nvidia_section(check: dict) -> list:
    nvidia = numbers(check, "eqviz kernels vs NVIDIA")
    if not nvidia:
        return []
    lines = [f"## eqviz's kernels against NVIDIA's CUDA ops ({nvidia['res']}², {nvidia['device']})", "",
             "filtered_lrelu per layer type (batch 1, real layer inputs; layers of a type summed):", ""]
    rows, synth = [], []
    for kind, model in nvidia["models"].items():
        groups = defaultdict(list)
        for r in model["layers"]:
            groups[(r["up"], r["down"], r.get("fd", ""))].append(r)
        for (up, down, fd), layers in sorted(groups.items()):
            ours, theirs = sum(r["eqviz_ms"] for r in layers), sum(r["nvidia_ms"] for r in layers)
            rows.append((kind, f"{up}/{down}", fd, len(layers), f"{ours:.2f}", f"{theirs:.2f}", f"{theirs / ours:.2f}",
                         f"{max(r['rel_diff'] for r in layers):.1e}"))
        synth += [(kind, r["batch"], f"{r['eqviz_ms']:.2f}", f"{r['nvidia_ms']:.2f}", f"{r['nvidia_ms'] / r['eqviz_ms']:.2f}",
                   f"{r['rel_diff']:.1e}") for r in model["synthesis"]]
    lines += table(["model", "up/down", "down filter", "layers", "eqviz ms", "NVIDIA ms", "NVIDIA/eqviz ratio", "diff"], rows, 3)
    lines += ["Whole mapping + synthesis, eqviz's generator with its own ops and with NVIDIA's filtered_lrelu and "
              "bias_act substituted:", ""]
    lines += table(["model", "batch", "eqviz ms", "NVIDIA ops ms", "NVIDIA/eqviz ratio", "diff"], synth)
    return lines


def video_section(check: dict) -> list:
    rows = [(r["model"], r["motion"], r["output"], r["frames"], r["batch"], f"{r['raw_fps']:.1f}", f"{r['video_fps']:.1f}",
             f"{r['ratio']:.3f}", f"{r['cpu_ratio']:.3f}") for r in numbers(check, "video") or []]
    return ["## Video against raw synthesis of the same frames", "",
            *table(["model", "motion", "output", "frames", "batch", "raw fps", "video fps", "ratio", "CPU ratio"], rows, 3)] \
        if rows else []


def frame_renderer_section(check: dict) -> list:
    rows = [(r["model"], f"{r['app_ms']:.2f}", f"{r['bare_ms']:.2f}", f"{r['app_ms'] / r['bare_ms']:.2f}")
            for r in numbers(check, "app frame renderer") or []]
    return ["## The app's frame renderer (request -> display-ready frame) against bare synthesis", "",
            *table(["model", "app frame ms", "bare synthesis ms", "app/bare ratio"], rows)] if rows else []


def fid_section(check: dict) -> list:
    fid = numbers(check, "FID")
    if not fid:
        return []
    rows = [(r["pipeline"], f"{r['resolution']}²", r["batch"], f"{r['images_per_s']:.1f}") for r in fid["features"]]
    lines = ["## FID", "", "Inception features (uint8 input resized to 299² inside, random weights):", "",
             *table(["pipeline", "input", "batch", "images/s"], rows, 2)]
    est = fid.get("fid50k_full")
    if est:
        lines += [f"fid50k_full estimate for {est['model']} (`compute_fid_kid` end to end on {est['generated_measured']} "
                  f"generated and {est['real_measured']} real images, batch {est['batch']}, scaled): generated "
                  f"{est['generated_per_s']:.1f} images/s (synthesis, features, statistics with the bootstrap), real "
                  f"{est['real_per_s']:.1f} images/s (PNG decoding and features), fixed {est['fixed_s']:.1f} s; "
                  f"{est['fid50k_full_s'] / 60:.1f} min with {est['dataset_images']} real images, "
                  f"{est['fid50k_full_cached_s'] / 60:.1f} min with their statistics cached.", ""]
    return lines


def projection_section(check: dict) -> list:
    rows = []
    for prefix in ("projection steps/s, StyleGAN2", "projection steps/s, StyleGAN3-T"):
        for r in (numbers(check, prefix) or {}).get("rows", []):
            rows.append((r["kind"], r["res"], f"{r['steps_per_s']:.2f}", f"{r['step_s'] * 1e3:.0f}",
                         f"{r['bare_s'] * 1e3:.0f}", f"{r['step_s'] / r['bare_s']:.2f}", f"{r['memory_growth_mib']:+.1f}"))
    return ["## Projection (pixel + discriminator loss)", "",
            *table(["model", "res", "steps/s", "step ms", "G fwd+bwd ms", "step/G ratio", "memory growth MiB"], rows)] \
        if rows else []


def synthesis_section(check: dict) -> list:
    gpu = numbers(check, "whole synthesis")
    if not gpu:
        return []
    kernels, baseline = gpu["impls"]["kernels"], gpu["impls"]["baseline"]
    rows = [(r["model"], r["batch"], f"{r['kernels_ms']:.2f}", f"{r['baseline_ms']:.2f}",
             f"{r['baseline_ms'] / r['kernels_ms']:.2f}",
             "" if r["kernels_peak_mib"] is None else f"{r['kernels_peak_mib']:.0f}",
             "" if r["baseline_peak_mib"] is None else f"{r['baseline_peak_mib']:.0f}") for r in gpu["synthesis"]]
    return ["## Whole mapping + synthesis", "",
            *table(["model", "batch", f"{kernels} ms", f"{baseline} ms", f"{baseline}/{kernels} ratio", f"{kernels} MiB",
                    f"{baseline} MiB"], rows)]


def equivariance_section(check: dict) -> list:
    rows = []
    for prefix in ("equivariance metric cost (StyleGAN3-T 256", "equivariance metric cost (StyleGAN3-T 1024"):
        r = numbers(check, prefix)
        if r:
            rows.append((f"{r['resolution']}²", f"{r['channel_base']}/{r['channel_max']}", f"{r['generator_s'] * 1e3:.1f}",
                         f"{r['overhead_s'] * 1e3:.1f}", f"{r['overhead_s'] / r['generator_s']:.3f}"))
    return ["## Equivariance metrics: cost besides the generator, per sample", "",
            *table(["res", "capacity", "generator ms", "everything else ms", "ratio"], rows)] if rows else []


def steps_section(check: dict) -> list:
    rows = []
    for r in check["steps"]:
        rows.append((r["name"], step_status(r), r["seconds"]))
    return ["## Steps", "", *table(["step", "result", "s"], rows, 2)]


def step_status(record: dict) -> str:
    """'pass', 'skipped' or 'FAIL (rc ...)' for one step's record."""
    if record["passed"]:
        return "pass"
    return "skipped" if record["rc"] == "skipped" else f"FAIL (rc {record['rc']})"


def last_line(record: dict) -> str:
    """The last non-empty line a step printed."""
    return next((ln for ln in reversed(record.get("tail", "").splitlines()) if ln.strip()), "")


def render_results(check: dict) -> str:
    env = numbers(check, "environment") or {}
    device = env.get("gpu", "unknown device")
    title = (f"# GPU check dry run on the CPU ({check['started']}): tiny models, plumbing only" if check["dry_run"]
             else f"# GPU results on one {device} ({check['started'][:10]})")
    machine = (f"Machine: {'this CPU host, no GPU' if check['dry_run'] else device + ' (' + env.get('nvidia_smi', '') + ')'}, torch {env.get('torch', '?')} (CUDA {env.get('cuda')}), "
               f"Python {env.get('python', '?')}, {env.get('cpus', '?')} CPU cores; nvcc: {env.get('nvcc', '?')}; "
               f"ffmpeg: {env.get('ffmpeg', '?')}; {env.get('backend', '')}.")
    lines = [title, "", machine,
             f"Produced by `{check['header']['command']}` (benchmarks/gpu_check.py, one device call, budget "
             f"{check['header']['budget_s']:.0f} s). Random weights at NVIDIA's capacities"
             f"{' (here: --tiny widths)' if check['dry_run'] else ''}; GPU times are medians of CUDA-event timings after "
             "warm-up unless a section says otherwise.", "", "## Bars", "", *bars(check)]
    for section in (fp16_section, nvidia_section, video_section, frame_renderer_section, fid_section,
                    projection_section, synthesis_section, equivariance_section, steps_section):
        lines += section(check)
    return "\n".join(lines)
