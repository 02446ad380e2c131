"""Self-projection, the issue's bar: an image the generator made from a known w is recovered to at least
30 dB PSNR within 500 steps, in W with pixel + discriminator loss, on the 64-px StyleGAN2 and StyleGAN3-T
reference snapshots; W+ gets at least as close. PSNR is measured on the raw float images (peak-to-peak 2,
no clamping: the StyleGAN2 reference's images reach |x| ~ 15, so this is stricter than the 8-bit PSNR
`eqviz project` prints)."""
import math

import numpy as np
import pytest
import torch

# Steps per model: StyleGAN3-T gets there in far fewer (measured: 30 dB after 20 of 200 steps), and
# each of its steps costs ~10x a StyleGAN2 step on the CPU.
CASES = [("sg2_64", 500), ("sg3t_64", 60)]


def raw_psnr(img: torch.Tensor, target: torch.Tensor) -> float:
    return 20 * math.log10(2) - 10 * math.log10(float((img - target).square().mean()))


@pytest.mark.slow
@pytest.mark.parametrize("model, steps", CASES)
def test_self_projection_reaches_30_db_in_w_and_at_least_as_high_in_w_plus(reference_dir, model, steps):
    from eqviz.core.input_transform import synthesize
    from eqviz.networks import load_discriminator, load_generator
    from eqviz.projection.projector import ProjectionSettings, project

    path = reference_dir / "pkl" / f"{model}.pkl"
    G, D = load_generator(path), load_discriminator(path)
    with torch.no_grad():
        target = synthesize(G, G.mapping(torch.from_numpy(np.random.RandomState(5).randn(1, G.z_dim)), None))
    start = raw_psnr(synthesize(G, G.mapping.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1)), target)
    psnrs = {}
    for space in ("w", "w+"):
        result = project(G, target, ProjectionSettings(space=space, steps=steps), D=D)
        with torch.no_grad():  # the saved W alone, rendered as every other eqviz feature renders it
            psnrs[space] = raw_psnr(synthesize(G, result.ws), target)
    assert psnrs["w"] >= 30.0, (start, psnrs)
    assert psnrs["w+"] >= psnrs["w"] - 0.5, psnrs  # at least as high, up to float noise
    assert psnrs["w"] > start + 10, (start, psnrs)  # not a target the start point already matched
