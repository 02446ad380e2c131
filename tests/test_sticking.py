"""Texture-sticking views: the sharpness measure, long exposures, column stacks and their files."""
import json
import math
import threading

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from eqviz.errors import Cancelled, EqvizError
from eqviz.cli.main import main
from eqviz.core.input_transform import synthesize_posed
from eqviz.core.latents import seed_ws
from eqviz.core.images import to_uint8
from eqviz.video.sticking import StickingSpec, high_frequency_energy, long_exposure, render_sticking, resolve_stack_motion


@pytest.fixture(scope="module")
def generators(reference_dir):
    import eqviz.networks

    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = eqviz.networks.load_generator(str(reference_dir / "pkl" / f"{name}.pkl"))
        return (name, cache[name])

    return get


def cosine_image(cycles_per_pixel, size=64, amplitude=1.0):
    x = torch.arange(size, dtype=torch.float64)
    row = amplitude * torch.cos(2 * math.pi * cycles_per_pixel * x)
    return row.expand(3, size, size).clone()


def test_high_frequency_energy_of_a_cosine_is_its_mean_square_above_the_cutoff():
    # A cosine of amplitude A has mean square A^2 / 2; all of it is above or below the cutoff.
    assert high_frequency_energy(cosine_image(24 / 64, amplitude=2.0)) == pytest.approx(2.0)
    assert high_frequency_energy(cosine_image(4 / 64, amplitude=2.0)) == pytest.approx(0.0, abs=1e-12)
    mix = cosine_image(24 / 64) + cosine_image(4 / 64)
    assert high_frequency_energy(mix) == pytest.approx(0.5)


def test_long_exposure_of_stylegan3_t_is_blurrier_than_one_image(generators):
    _, G = generators("sg3t_64")
    single, average = long_exposure(G, 3, samples=4, sigma=0.5, batch=4)
    assert single.shape == average.shape == (3, 64, 64)
    assert high_frequency_energy(average) < 0.6 * high_frequency_energy(single)


def test_stack_motion_auto_walks_when_a_generator_cannot_translate(generators):
    assert resolve_stack_motion("auto", [generators("sg3t_64")]) == "translate"
    assert resolve_stack_motion("auto", [generators("sg2_64"), generators("sg3t_64")]) == "walk"
    with pytest.raises(EqvizError, match="walk stack motion"):
        resolve_stack_motion("translate", [generators("sg2_64")])


def test_side_by_side_outputs_have_a_panel_per_checkpoint(tmp_path, generators):
    spec = StickingSpec(checkpoints=[], seeds=[4], outdir=str(tmp_path / "out"), samples=2, frames=3, size=32, fps=6)
    result = render_sticking(spec, generators=[generators("sg2_64"), generators("sg2_64")])
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["seed0004_column_stack.mp4", "seed0004_column_stack.png", "seed0004_long_exposure.png", "sticking_summary.json"]
    exposure = imageio.imread(tmp_path / "out" / "seed0004_long_exposure.png")
    stack = imageio.imread(tmp_path / "out" / "seed0004_column_stack.png")
    assert exposure.shape[1] == 4 * 32 + 3 * 2  # single + average per checkpoint
    assert stack.shape[1] == 2 * 3 + 2          # one column per frame per checkpoint
    with imageio.get_reader(tmp_path / "out" / "seed0004_column_stack.mp4") as reader:
        frames = [f for f in reader]
    assert len(frames) == 3 and frames[0].shape[1] == 2 * (32 + 2 + 3) + 2
    summary = json.loads((tmp_path / "out" / "sticking_summary.json").read_text())
    assert summary["stack_motion"] == result.stack_motion == "walk"
    assert set(summary["high_frequency_energy"]["4"]["sg2_64"]) == {"single", "long_exposure"}


def test_column_stack_of_a_translation_repeats_the_central_column_shifted(tmp_path, generators):
    # Translating right by d per frame moves content right: column c at frame i is column c - d i at frame 0.
    name, G = generators("sg3t_64")
    frames = 4
    spec = StickingSpec(checkpoints=[], seeds=[6], outdir=str(tmp_path), samples=2, frames=frames, distance=3 * 4 / 64, fps=4)
    render_sticking(spec, generators=[(name, G)])
    stack = imageio.imread(tmp_path / "seed0006_column_stack.png")
    header = stack.shape[0] - 64
    columns = stack[header:, :frames].astype(int)  # [64, frames, 3]
    with torch.no_grad():
        first_frame_image = to_uint8(synthesize_posed(G, seed_ws(G, 6), ((-spec.distance / 2, 0.0), 0.0))).astype(int)
    for i in range(frames):
        expected = first_frame_image[:, 32 - 4 * i]  # 4 pixels per frame
        assert np.abs(columns[4:-4, i] - expected[4:-4]).max() <= 2


def test_cancel_leaves_no_files_of_the_seed_in_progress(tmp_path, generators):
    cancel = threading.Event()
    spec = StickingSpec(checkpoints=[], seeds=[1], outdir=str(tmp_path), samples=4, frames=6, batch=2)
    with pytest.raises(Cancelled, match="cancelled at 2 of 11") as info:
        render_sticking(spec, progress=lambda p: cancel.set(), cancel=cancel.is_set, generators=[generators("sg2_64")])
    assert info.value.done == 2
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_views(tmp_path, reference_dir, capsys):
    pkl = str(reference_dir / "pkl" / "sg2_64.pkl")
    rc = main(["sticking", pkl, "--seeds", "2", "--outdir", str(tmp_path), "--samples", "2", "--frames", "3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "long exposure keeps" in out and "column stacks used: walk" in out
    assert (tmp_path / "seed0002_long_exposure.png").is_file()
    assert main(["sticking", pkl, "--seeds", "2", "--outdir", str(tmp_path), "--samples", "2", "--frames", "3"]) == 2
