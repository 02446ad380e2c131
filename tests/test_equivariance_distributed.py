"""compute_equivariance under torchrun: two gloo processes on the CPU give the single-process result."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from eqviz.networks import load_generator
from eqviz.metrics.equivariance.run import compute_equivariance

METRICS = ("eqt_frac", "eqr")


def test_two_processes_match_one(reference_dir, tmp_path):
    pkl = reference_dir / "pkl" / "sg3t_64.pkl"
    out = tmp_path / "eq.json"
    settings = ["--metrics", ",".join(METRICS), "--num-samples", "3", "--batch", "1", "--seed", "4"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "eqviz.cli.main", "metrics", str(pkl), *settings, "--json", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("EQ-R") == 1  # only the first process prints
    shared = json.loads(out.read_text())
    assert shared["settings"]["processes"] == 2 and shared["num_samples_done"] == 3

    single = compute_equivariance(load_generator(pkl), metrics=METRICS, num_samples=3, batch_size=1, seed=4)
    for m in METRICS:
        got = shared["results"][m]
        np.testing.assert_allclose(got["per_sample_psnr_db"], single.per_sample_psnr_db[m], atol=0.01)
        assert got["psnr_db"] == pytest.approx(single.psnr_db[m], abs=0.01)
        assert got["mask_sum"] == single.mask_sum[m]
