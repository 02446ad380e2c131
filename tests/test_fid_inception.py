"""The Inception loader refuses bad weights files in one line, and the TF-1 resize is the textbook one."""
import pickle

import numpy as np
import pytest
import torch

from eqviz.downloads.transfer import DownloadError
from eqviz.errors import InvalidArgument
from eqviz.metrics.fid.inception import INCEPTION_ENV, InceptionV3FID, InceptionWeightsError, load_inception
from eqviz.metrics.fid.pipeline import tf1_resize_bilinear
from fid_oracle import oracle_state_dict


def tf1_textbook(img: np.ndarray, size: int) -> np.ndarray:
    """TF-1 resize_bilinear, align_corners=False, pixel by pixel in float64: out[i] samples in[i * in/out]."""
    h, w = img.shape
    out = np.empty((size, size))
    for i in range(size):
        y = i * h / size
        y0 = int(np.floor(y)); y1 = min(y0 + 1, h - 1); fy = y - y0
        for j in range(size):
            x = j * w / size
            x0 = int(np.floor(x)); x1 = min(x0 + 1, w - 1); fx = x - x0
            top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
            bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
            out[i, j] = top * (1 - fy) + bottom * fy
    return out


@pytest.mark.parametrize("in_h, in_w, size", [(5, 7, 13), (64, 64, 29), (11, 3, 6)])
def test_tf1_resize_matches_the_textbook_formula(in_h, in_w, size):
    img = np.random.default_rng(in_h).uniform(0, 255, (in_h, in_w))
    got = tf1_resize_bilinear(torch.from_numpy(img).float()[None, None], size)[0, 0].double().numpy()
    # rectangular inputs resize to a square of `size` in both directions
    assert np.abs(got - tf1_textbook(img, size)).max() < 1e-3  # float32 positions and weights, values to 255


def test_tf1_resize_at_the_same_size_is_the_identity():
    img = torch.rand(1, 3, 9, 9) * 255
    assert torch.equal(tf1_resize_bilinear(img, 9), img)


@pytest.fixture(scope="module")
def state(reference_dir):
    return oracle_state_dict(reference_dir)


def write(tmp_path, obj, name="w.pth"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def one_line_error(call) -> str:
    with pytest.raises(InceptionWeightsError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_without_a_path_or_environment_offline_the_error_names_the_file_to_fetch_and_where(monkeypatch, tmp_path):
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EQVIZ_OFFLINE", "1")
    with pytest.raises(DownloadError) as info:
        load_inception(None)
    message = str(info.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message and str(tmp_path / "cache" / "downloads") in message


def test_the_environment_variable_names_the_weights(monkeypatch, tmp_path):
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "absent.pth"))
    assert "absent.pth" in one_line_error(lambda: load_inception(None))


def test_a_missing_file_and_a_folder_are_refused(tmp_path):
    assert "nope.pth does not exist" in one_line_error(lambda: load_inception(tmp_path / "nope.pth"))
    assert "is a folder, not a file" in one_line_error(lambda: load_inception(tmp_path))


def test_a_missing_key_is_named(tmp_path, state):
    broken = dict(state)
    del broken["Mixed_6c.branch7x7_2.conv.weight"]
    assert "Mixed_6c.branch7x7_2.conv.weight" in one_line_error(lambda: load_inception(write(tmp_path, broken)))


def test_an_unexpected_key_is_named(tmp_path, state):
    broken = dict(state, **{"AuxLogits.fc.weight": torch.zeros(3)})
    assert "AuxLogits.fc.weight" in one_line_error(lambda: load_inception(write(tmp_path, broken)))


def test_a_wrong_shape_is_named(tmp_path, state):
    broken = dict(state, **{"fc.weight": torch.zeros(1000, 2048)})  # torchvision's 1000 classes, not TF's 1008
    message = one_line_error(lambda: load_inception(write(tmp_path, broken)))
    assert "fc.weight" in message and "(1000, 2048)" in message and "(1008, 2048)" in message


def test_num_batches_tracked_may_be_absent(tmp_path, state):
    slim = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    net = load_inception(write(tmp_path, slim))
    assert torch.equal(net.fc.weight, state["fc.weight"])


def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os
            return os.system, (f"touch {marker}",)

    path = tmp_path / "hostile.pth"
    path.write_bytes(pickle.dumps(Payload()))
    message = one_line_error(lambda: load_inception(path))
    assert "refers to 'posix.system'" in message or "refers to 'os.system'" in message, message
    assert not marker.exists()


def test_a_file_of_other_things_is_refused(tmp_path):
    assert "state dict" in one_line_error(lambda: load_inception(write(tmp_path, [torch.zeros(3)])))
    (tmp_path / "junk.pth").write_bytes(b"\x00" * 100)
    assert "neither a zip archive nor a pickle" in one_line_error(lambda: load_inception(tmp_path / "junk.pth"))


def test_an_unknown_pipeline_is_refused_naming_the_argument():
    with pytest.raises(InvalidArgument, match="unknown FID pipeline 'tf2'; choose from tf, pytorch-fid") as refused:
        InceptionV3FID("tf2")
    assert refused.value.argument == "pipeline"
