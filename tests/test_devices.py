"""Devices: one check of what the caller asked for, and functions that only read a generator never move it."""
import pytest
import torch

from eqviz.devices import check_device, module_on
from eqviz.errors import InvalidArgument
from eqviz.video.render import load_generators


def test_a_malformed_device_is_refused_naming_the_argument():
    with pytest.raises(InvalidArgument, match="unknown device 'gpu0'") as info:
        check_device("gpu0", argument="device")
    assert info.value.argument == "device"
    assert check_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(InvalidArgument, match="no CUDA GPU"):
        check_device("cuda:0")


def test_a_module_already_there_is_used_as_it_is_and_one_elsewhere_is_copied():
    module = torch.nn.Linear(3, 2)
    assert module_on(module, "cpu") is module
    elsewhere = module_on(module, "meta")
    assert elsewhere is not module and elsewhere.weight.device.type == "meta"
    assert module.weight.device.type == "cpu"  # the caller's module stayed where it was


def test_a_video_of_a_loaded_generator_on_another_device_leaves_the_callers_generator_where_it_is():
    G = torch.nn.Linear(3, 2)
    [(_, used)] = load_generators([G], torch.device("meta"))
    assert used.weight.device.type == "meta" and G.weight.device.type == "cpu"
