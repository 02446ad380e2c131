"""float16 synthesis on the GPU: correctness against float32 and speed, at NVIDIA's 1024² capacities.

NVIDIA trains the highest-resolution layers in float16 (`num_fp16_res=4`) and renders them in float16
unless `force_fp32`. eqviz has float16 variants of every kernel (16-bit loads and stores, float32
arithmetic). For StyleGAN3-T / -R at 1024² with num_fp16_res=4 (random weights) this prints, per batch:
  * float16 kernels against the float16 PyTorch path: both round to float16 at every layer boundary
    and nowhere else, so they may differ by about one float16 rounding (2^-11 relative) per
    float16 layer; the bound is FP16_LAYERS_BOUND = (float16 layers) * 2^-11 of the output's scale;
  * float16 kernels against float32 (what float16 costs in quality: reported, not bounded);
  * synthesis time with force_fp32=False against force_fp32=True, kernels on.

    python3 benchmarks/bench_fp16.py [--kinds stylegan3-t stylegan3-r] [--batch 1 8] [--json out.json]
    python3 benchmarks/bench_fp16.py --device cpu --tiny --res 64 --batch 1    # dry run: the CPU runs float32 only
"""
import argparse
import json
import sys
from pathlib import Path

from eqviz.process_tuning import tune_process

tune_process()  # as the CLI does: passive OpenMP waits, heap reuse; before torch

import torch  # noqa: E402

from bench_gpu import CONFIGS, TINY, chosen_device, release, time_ms  # noqa: E402
from eqviz.cuda_ops import dispatch  # noqa: E402
from eqviz.networks.build import build_generator  # noqa: E402
from eqviz.networks.config import config_from_init_kwargs  # noqa: E402

FLOAT16_EPS = 2.0 ** -11  # unit roundoff of float16


def build_fp16(kind: str, resolution: int, device, tiny=False) -> torch.nn.Module:
    kwargs = dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=resolution, img_channels=3,
                  **{**CONFIGS[kind], **(TINY if tiny else {}), "num_fp16_res": 4})
    return build_generator(config_from_init_kwargs(kind, kwargs)).to(device).eval()


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def fp16_layer_count(G) -> int:
    return sum(1 for m in G.synthesis.modules() if getattr(m, "use_fp16", False))


def check(kind: str, resolution: int, batch: int, device, tiny=False) -> dict:
    G = build_fp16(kind, resolution, device, tiny)
    z = torch.randn(batch, G.z_dim, device=device, generator=torch.Generator(device).manual_seed(1))
    with torch.no_grad():
        ws = G.mapping(z, torch.zeros(batch, 0, device=device))
        img32 = G.synthesis(ws, force_fp32=True).float()
        img16_kernels = G.synthesis(ws, force_fp32=False).float()
        with dispatch.default_impl("fast"):
            img16_torch = G.synthesis(ws, force_fp32=False).float()
        layers = fp16_layer_count(G)
        row = dict(model=f"{kind}-{resolution}", batch=batch, fp16_layers=layers,
                   kernels_vs_torch_fp16=relative_difference(img16_kernels, img16_torch),
                   bound=layers * FLOAT16_EPS,
                   fp16_vs_fp32=relative_difference(img16_kernels, img32),
                   fp32_ms=time_ms(lambda: G.synthesis(ws, force_fp32=True), device=device),
                   fp16_ms=time_ms(lambda: G.synthesis(ws, force_fp32=False), device=device))
    row["passed"] = row["kernels_vs_torch_fp16"] <= row["bound"]
    print(f"  {row['model']:18s} batch {batch}: fp16 kernels vs fp16 torch {row['kernels_vs_torch_fp16']:.1e} "
          f"(bound {row['bound']:.1e}, {'ok' if row['passed'] else 'FAIL'}), fp16 vs fp32 {row['fp16_vs_fp32']:.1e}; "
          f"fp32 {row['fp32_ms']:.2f} ms, fp16 {row['fp16_ms']:.2f} ms, fp32/fp16 {row['fp32_ms'] / row['fp16_ms']:.2f}",
          flush=True)
    del G
    release(device)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["stylegan3-t", "stylegan3-r"], choices=sorted(CONFIGS))
    parser.add_argument("--res", type=int, default=1024)
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cpu: a dry run of the plumbing (float16 layers run in float32 there)")
    parser.add_argument("--tiny", action="store_true", help="narrow models (dry runs), not NVIDIA's capacities")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args(argv)
    device = chosen_device(args.device, "bench_fp16 needs a CUDA GPU: eqviz runs float16 layers only on CUDA")
    if device is None:
        return 2
    rows = [check(kind, args.res, batch, device, args.tiny) for kind in args.kinds for batch in args.batch]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
