"""`eqviz fid` under torchrun: two gloo processes split the samples, all-reduce the sums (and the KID
features) and give the single-process FID, KID and bootstrap replicates."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from eqviz.metrics.fid.compute import compute_fid_kid
from fid_oracle import oracle_inception  # noqa: F401 (fixture)


@pytest.mark.slow
def test_two_processes_match_one(reference_dir, tmp_path, oracle_inception):  # noqa: F811
    data = tmp_path / "data"
    data.mkdir()
    for i, img in enumerate(np.random.default_rng(5).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)):
        Image.fromarray(img).save(data / f"{i}.png")
    pkl = reference_dir / "pkl" / "sg3t_64.pkl"
    out = tmp_path / "fid.json"
    settings = ["--metrics", "fid,kid", "--num-samples", "5", "--batch", "2", "--bootstrap", "3", "--no-cache",
                "--inception", str(oracle_inception)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "eqviz.cli.main", "fid", str(data), str(pkl), *settings, "--json", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("FID fid5_full") == 1  # only the first process prints
    shared = json.loads(out.read_text())
    assert shared["settings"]["processes"] == 2

    single = compute_fid_kid(data, pkl, oracle_inception, metrics=("fid", "kid"), num_samples=5, batch_size=2,
                             bootstrap_replicates=3, use_cache=False)
    assert shared["fid"]["value"] == pytest.approx(single.fid, rel=1e-5)
    assert shared["fid"]["bootstrap_std"] == pytest.approx(single.fid_std, rel=1e-4)
    assert shared["kid"]["value"] == pytest.approx(single.kid, rel=1e-5, abs=1e-9)
