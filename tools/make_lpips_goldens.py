"""Runs the real `lpips` package (Zhang et al.'s reference code, v0.1, VGG trunk) on the random weights and
inputs of tests/lpips_oracle.py and stores its distances in tests/data/lpips_golden.{npz,json}.

lpips pulls in torchvision, which must never enter eqviz's environment: run this from a separate one, e.g.
    python3 -m venv /tmp/lpips-venv && /tmp/lpips-venv/bin/pip install torch torchvision lpips
    /tmp/lpips-venv/bin/python tools/make_lpips_goldens.py
It imports nothing from eqviz. The weights go through the package's own loading: the linear heads from a
file via `LPIPS(model_path=...)`, the VGG16 trunk into a torchvision `vgg16` that lpips slices.
"""
import importlib.metadata
import json
import sys
import tempfile
from pathlib import Path

import lpips
import numpy as np
import torch
import torchvision

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
import lpips_oracle  # noqa: E402

SLICES = ((1, range(0, 4)), (2, range(4, 9)), (3, range(9, 16)), (4, range(16, 23)), (5, range(23, 30)))


def lpips_on_oracle_weights(lin_file: Path) -> lpips.LPIPS:
    model = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, model_path=str(lin_file),
                        verbose=False)
    vgg = torchvision.models.vgg16()
    vgg.features.load_state_dict({k.removeprefix("features."): torch.from_numpy(v)
                                  for k, v in lpips_oracle.vgg_state().items()})
    for number, indices in SLICES:
        for index in indices:
            getattr(model.net, f"slice{number}").get_submodule(str(index)).load_state_dict(
                vgg.features[index].state_dict())
    # lpips loads the heads with strict=False: make sure every weight is the recipe's before trusting the run.
    for k, want in lpips_oracle.lin_state().items():
        assert torch.equal(model.state_dict()[k], torch.from_numpy(want)), k
    for number, indices in SLICES:
        for index in indices:
            for name, value in getattr(model.net, f"slice{number}").get_submodule(str(index)).state_dict().items():
                assert torch.equal(value, torch.from_numpy(lpips_oracle.vgg_state()[f"features.{index}.{name}"]))
    return model.eval()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        lin_file = Path(tmp) / "lin.pth"
        torch.save({k: torch.from_numpy(v) for k, v in lpips_oracle.lin_state().items()}, lin_file)
        model = lpips_on_oracle_weights(lin_file)
    x, y = (torch.from_numpy(a) for a in lpips_oracle.inputs())
    with torch.no_grad():
        total, per_layer = model(x, y, retPerLayer=True)
        self_distance = model(x, x)
    out = REPO / "tests" / "data" / "lpips_golden"
    np.savez(out.with_suffix(".npz"), distance=total.reshape(-1).double().numpy(),
             per_layer=torch.stack([r.reshape(-1) for r in per_layer]).double().numpy(),
             self_distance=self_distance.reshape(-1).double().numpy())
    out.with_suffix(".json").write_text(json.dumps({
        "made_by": "tools/make_lpips_goldens.py",
        "weights_and_inputs": "tests/lpips_oracle.py (numpy RandomState(crc32(key)) recipes)",
        "lpips": importlib.metadata.version("lpips"),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "call": "lpips.LPIPS(net='vgg', version='0.1')(x, y, retPerLayer=True), inputs in [-1, 1]",
        "arrays": {"distance": "[N] float64", "per_layer": "[5, N] float64, relu1_2 .. relu5_3",
                   "self_distance": "[N] d(x, x)"},
    }, indent=2) + "\n")
    print("distance", total.reshape(-1).tolist())


if __name__ == "__main__":
    main()
