"""Makes assets/demo_sg3t_256.safetensors: the StyleGAN3-T that `eqviz` opens with no arguments.

Its weights are random (nothing was trained), drawn so the picture is not flat: the reference
models' recipe (style-affine biases around 1, a non-trivial learned input rotation/translation,
magnitude EMAs in [0.5, 2]) at 256 px with few channels, so a 2-core CPU renders it interactively.
Random weights leave a picture with little contrast, so the output scale (a plain multiplier
after the last layer; equivariance does not depend on it) is set to give a spatial spread of about
TARGET_SPREAD. The app labels it "demo (random weights)". Run: python3 tools/make_demo_checkpoint.py
"""
import argparse
import dataclasses
import re
import time
import zlib
from pathlib import Path

import numpy as np
import torch

import eqviz.networks
from eqviz.networks.build import build_generator
from eqviz.networks.config import MappingConfig, StyleGAN3Config

OUT = Path(__file__).resolve().parents[1] / "assets" / "demo_sg3t_256.safetensors"

CONFIG = StyleGAN3Config(
    z_dim=64,                  # latent width; the mapping cost is negligible either way
    c_dim=0,                   # unconditional
    w_dim=64,
    img_resolution=256,
    img_channels=3,
    mapping=MappingConfig(num_layers=2),
    channel_base=4096,         # NVIDIA's 256-px config uses 32768 / 512; narrow layers keep CPU frames fast
    channel_max=8,
    num_layers=6,              # NVIDIA uses 14; fewer layers cost less and keep more structure with random weights
)
TARGET_SPREAD = 0.25           # mean per-channel spatial standard deviation of the image
CALIBRATION_SEEDS = range(4)

# (key pattern, distribution) in the reference recipe's terms: ("normal", loc, scale) or ("uniform", low, high).
# Keys the constructor designs (filters, transform, Fourier freqs/phases) are left as built.
RECIPE = (
    (r"mapping\.fc\d+\.weight", ("normal", 0.0, 100.0)),     # x 0.01 lr gain -> effective N(0, 1)
    (r"mapping\.fc\d+\.bias", ("normal", 0.0, 20.0)),        # effective N(0, 0.2^2)
    (r"mapping\.w_avg", ("normal", 0.0, 0.5)),
    (r"synthesis\.input\.affine\.weight", ("normal", 0.0, 0.2)),
    (r"synthesis\.input\.affine\.bias", ("normal", [1.0, 0.0, 0.0, 0.0], 0.1)),  # near-identity learned transform
    (r"synthesis\.input\.weight", ("normal", 0.0, 1.0)),
    (r"synthesis\.L\w+\.affine\.weight", ("normal", 0.0, 1.0)),
    (r"synthesis\.L\w+\.affine\.bias", ("normal", 1.0, 0.2)),   # styles around 1, as after training
    (r"synthesis\.L\w+\.weight", ("normal", 0.0, 1.0)),
    (r"synthesis\.L\w+\.bias", ("normal", 0.0, 0.2)),
    (r"synthesis\.L\w+\.magnitude_ema", ("uniform", 0.5, 2.0)),
)


def draw(key: str, shape, dist) -> torch.Tensor:
    rng = np.random.RandomState(zlib.crc32(f"demo_sg3t_256/{key}".encode()))
    if dist[0] == "uniform":
        value = rng.uniform(dist[1], dist[2], size=shape)
    else:
        value = np.asarray(dist[1], dtype=np.float64) + dist[2] * rng.standard_normal(shape)
    return torch.from_numpy(np.asarray(value, dtype=np.float32).reshape(shape))


def _build(config: StyleGAN3Config) -> torch.nn.Module:
    torch.manual_seed(0)  # the constructor's Fourier features
    G = build_generator(config).eval().requires_grad_(False)
    for key, tensor in G.state_dict().items():
        dist = next((d for pattern, d in RECIPE if re.fullmatch(pattern, key)), None)
        if dist is not None:
            tensor.copy_(draw(key, tuple(tensor.shape), dist))
    # The ToRGB bias is added before the output scale: zero keeps the colours centred once scaled.
    torgb = [name for name, _ in G.synthesis.named_children() if name.startswith("L")][-1]
    G.synthesis.get_submodule(torgb).bias.zero_()
    return G


@torch.no_grad()
def spatial_spread(G) -> float:
    spreads = []
    for seed in CALIBRATION_SEEDS:
        z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim)).float()
        spreads.append(float(G(z, None).std(dim=(2, 3)).mean()))
    return float(np.mean(spreads))


def make_generator() -> torch.nn.Module:
    G = _build(CONFIG)
    scale = CONFIG.output_scale * TARGET_SPREAD / spatial_spread(G)
    return _build(dataclasses.replace(CONFIG, output_scale=float(scale)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    G = make_generator()
    eqviz.networks.save_generator(G, args.out)
    torch.set_num_threads(2)
    ws = G.mapping(torch.randn(1, G.z_dim), None)
    G.synthesis(ws)
    t0 = time.perf_counter()
    img = G.synthesis(ws)
    ms = 1e3 * (time.perf_counter() - t0)
    params = sum(t.numel() for t in G.state_dict().values())
    print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB, {params:,} tensors' values); "
          f"one frame {ms:.0f} ms on {torch.get_num_threads()} threads; image std {float(img.std()):.3f}")


if __name__ == "__main__":
    main()
