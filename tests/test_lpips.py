"""eqviz's LPIPS against a plain textbook one written here (torch.nn VGG16 in torchvision's layer order, unit
normalisation per pixel, 1x1 linear heads, spatial mean, sum over layers) with the same random weights, and
the refusals of files that are missing, wrong or hostile."""
import os
import pickle

import pytest
import torch

VGG_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
RELU_TAPS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in torchvision's `features`


def textbook_vgg16_features() -> torch.nn.Sequential:
    layers, c_in = [], 3
    for v in VGG_CFG:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2, 2))
        else:
            layers += [torch.nn.Conv2d(c_in, v, 3, padding=1), torch.nn.ReLU()]
            c_in = v
    return torch.nn.Sequential(*layers)


def textbook_lpips(features, lins, x, y):
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def taps(img):
        h, out = (img - shift) / scale, []
        for i, layer in enumerate(features):
            h = layer(h)
            if i in RELU_TAPS:
                out.append(h / (torch.sqrt((h ** 2).sum(dim=1, keepdim=True)) + 1e-10))
        return out

    total = 0
    for fx, fy, lin in zip(taps(x), taps(y), lins):
        total = total + torch.nn.functional.conv2d((fx - fy) ** 2, lin).mean(dim=[2, 3])
    return total.reshape(-1)


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    """Random weights as torchvision and LPIPS store them (their key names; LPIPS's file in the legacy format)."""
    folder = tmp_path_factory.mktemp("lpips")
    torch.manual_seed(3)
    features = textbook_vgg16_features()
    for m in features:
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, std=(2 / (9 * m.in_channels)) ** 0.5)
            torch.nn.init.normal_(m.bias, std=0.1)
    vgg = {f"features.{k}": v for k, v in features.state_dict().items()}
    vgg["classifier.0.weight"] = torch.zeros(8, 8)  # the real file also holds the classifier; unused
    lins = [torch.rand(1, c, 1, 1) for c in (64, 128, 256, 512, 512)]
    torch.save(vgg, folder / "vgg16.pth")
    torch.save({f"lin{k}.model.1.weight": w for k, w in enumerate(lins)}, folder / "lin.pth",
               _use_new_zipfile_serialization=False)
    return folder / "vgg16.pth", folder / "lin.pth", features.eval(), lins


def test_lpips_matches_textbook_implementation_with_the_same_weights(weight_files):
    from eqviz.projection.lpips import load_lpips

    vgg_path, lin_path, features, lins = weight_files
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(3, 3, 48, 40, generator=gen) * 2 - 1
    y = (x + 0.3 * torch.randn(3, 3, 48, 40, generator=gen)).clamp(-1, 1)
    with torch.no_grad():
        want = textbook_lpips(features, lins, x, y)
        got = load_lpips(vgg_path, lin_path)(x, y)
    assert got.shape == (3,)
    assert float((got - want).abs().max() / want.abs().max()) < 1e-5
    assert float(want.min()) > 0


def test_lpips_of_an_image_with_itself_is_zero_and_grey_equals_its_rgb_copy(weight_files):
    from eqviz.projection.lpips import load_lpips

    net = load_lpips(*weight_files[:2])
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


def test_hostile_lpips_file_runs_nothing(tmp_path, weight_files):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "hostile.pth"
    with open(path, "wb") as f:
        pickle.dump({"lin0.model.1.weight": Payload()}, f, protocol=2)
    message = _one_line_error("holds something other than weights", weight_files[0], path, "lpips_lin")
    assert "system" in message
    assert not marker.exists()


def test_lpips_paths_that_are_not_weight_files_are_refused(tmp_path, weight_files):
    fifo = tmp_path / "fifo.pth"
    os.mkfifo(fifo)
    _one_line_error("not a regular file", weight_files[0], fifo, "lpips_lin")
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    _one_line_error("not a PyTorch weight file", weight_files[0], text, "lpips_lin")
