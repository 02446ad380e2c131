"""eqviz's LPIPS against the outputs of the real `lpips` package (v0.1, VGG) on the same random weights and
images (tests/lpips_oracle.py; tools/make_lpips_goldens.py ran the package outside the project's
environment), and the refusals of files that are missing, wrong or hostile."""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import lpips_oracle

GOLDEN = Path(__file__).parent / "data" / "lpips_golden.npz"


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    """The oracle's random weights as torchvision and LPIPS store them (LPIPS's file in the legacy format)."""
    folder = tmp_path_factory.mktemp("lpips")
    vgg = {k: torch.from_numpy(v) for k, v in lpips_oracle.vgg_state().items()}
    vgg["classifier.0.weight"] = torch.zeros(8, 8)  # the real file also holds the classifier; unused
    torch.save(vgg, folder / "vgg16.pth")
    torch.save({k: torch.from_numpy(v) for k, v in lpips_oracle.lin_state().items()}, folder / "lin.pth",
               _use_new_zipfile_serialization=False)
    return folder / "vgg16.pth", folder / "lin.pth"


def test_lpips_matches_the_lpips_package_on_the_same_weights(weight_files):
    from eqviz.projection.lpips import load_lpips

    golden = np.load(GOLDEN)
    x, y = (torch.from_numpy(a) for a in lpips_oracle.inputs())
    net = load_lpips(*weight_files)
    with torch.no_grad():
        got = net(x, y).double().numpy()
        fx, fy = net.features(x), net.features(y)
        per_layer = [((a - b).square() * lin.reshape(1, -1, 1, 1)).sum(dim=1).mean(dim=[1, 2]).double().numpy()
                     for a, b, lin in zip(fx, fy, net.lins)]
        itself = net(x, x).double().numpy()
    assert float(golden["distance"].min()) > 0.05  # the package saw a real difference to measure
    np.testing.assert_allclose(got, golden["distance"], rtol=1e-5)
    np.testing.assert_allclose(np.stack(per_layer), golden["per_layer"], rtol=1e-5)  # the same five taps
    np.testing.assert_array_equal(itself, golden["self_distance"])


def test_lpips_of_an_image_with_itself_is_zero_and_grey_equals_its_rgb_copy(weight_files):
    from eqviz.projection.lpips import load_lpips

    net = load_lpips(*weight_files)
    grey = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    other = torch.zeros(2, 1, 32, 32)
    with torch.no_grad():
        assert float(net(grey, grey).abs().max()) == 0.0
        torch.testing.assert_close(net(grey, other), net(grey.expand(-1, 3, -1, -1), other.expand(-1, 3, -1, -1)))


def _one_line_error(match, vgg, lin, argument):
    from eqviz.errors import InvalidArgument
    from eqviz.projection.lpips import load_lpips

    with pytest.raises(InvalidArgument, match=match) as info:
        load_lpips(vgg, lin)
    assert "\n" not in str(info.value)
    assert info.value.argument == argument  # the front end points at its control for that file
    return str(info.value)


def test_missing_lpips_files_name_the_files_to_get(tmp_path, weight_files):
    message = _one_line_error("does not exist", tmp_path / "nothing.pth", weight_files[1], "lpips_vgg")
    assert "vgg16-397923af.pth" in message and "v0.1" in message


def test_a_file_not_given_is_fetched_and_offline_that_names_where_it_goes(tmp_path, weight_files, monkeypatch):
    from eqviz.downloads.transfer import DownloadError
    from eqviz.projection.lpips import load_lpips

    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EQVIZ_OFFLINE", "1")
    with pytest.raises(DownloadError) as info:
        load_lpips(None, weight_files[1])
    message = str(info.value)
    assert "vgg16-397923af.pth" in message and str(tmp_path / "cache" / "downloads") in message


def test_lpips_file_with_missing_key_is_refused(tmp_path, weight_files):
    lin = tmp_path / "lin.pth"
    torch.save({f"lin{k}.model.1.weight": torch.zeros(1, c, 1, 1) for k, c in enumerate((64, 128, 256, 512))}, lin)
    _one_line_error("lacks lin4.model.1.weight", weight_files[0], lin, "lpips_lin")


def test_lpips_file_with_wrong_shape_is_refused(tmp_path, weight_files):
    vgg = tmp_path / "vgg.pth"
    state = torch.load(weight_files[0], weights_only=True)
    state["features.5.weight"] = torch.zeros(128, 64, 1, 1)
    torch.save(state, vgg)
    _one_line_error(r"features.5.weight has shape \[128, 64, 1, 1\]", vgg, weight_files[1], "lpips_vgg")


def test_lpips_file_with_nan_is_refused(tmp_path, weight_files):
    lin = tmp_path / "lin.pth"
    state = torch.load(weight_files[1], weights_only=True)
    state["lin2.model.1.weight"][0, 7] = float("nan")
    torch.save(state, lin)
    _one_line_error("lin2.model.1.weight holds NaN or infinite values", weight_files[0], lin, "lpips_lin")


def test_hostile_lpips_file_runs_nothing(tmp_path, weight_files):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "hostile.pth"
    with open(path, "wb") as f:
        pickle.dump({"lin0.model.1.weight": Payload()}, f, protocol=2)
    message = _one_line_error("refers to '(posix|os).system'", weight_files[0], path, "lpips_lin")
    assert "system" in message
    assert not marker.exists()


def test_lpips_paths_that_are_not_weight_files_are_refused(tmp_path, weight_files):
    fifo = tmp_path / "fifo.pth"
    os.mkfifo(fifo)
    _one_line_error("is a named pipe", weight_files[0], fifo, "lpips_lin")
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    _one_line_error("neither a zip archive nor a pickle", weight_files[0], text, "lpips_lin")
