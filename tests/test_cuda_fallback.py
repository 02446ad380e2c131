"""The fallback chain without a GPU: a missing driver or an unusable fatbin steps down loudly,
once, and the ops still give the reference answer."""
import contextlib
import subprocess
import sys
import types
import warnings

import pytest
import torch

from eqviz.cuda_ops import backend_status, cuda_context, pycuda_kernels
from eqviz.cuda_ops.fallback import WARNED_ONCE, Unsupported
from eqviz.cuda_ops.filtered_lrelu import filtered_lrelu


@pytest.fixture
def pretend_gpu(monkeypatch):
    """PyTorch claims a GPU 0; whatever pycuda does next decides the backend."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Pretend GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=0: (6, 1))
    backend_status.clear_cache()
    yield
    backend_status.clear_cache()


def _install_fake_driver(monkeypatch, **overrides):
    """A stand-in `pycuda.driver` whose functions are `overrides` (each built from its Error class)."""
    driver = types.ModuleType("pycuda.driver")

    class Error(Exception):
        pass

    driver.Error = Error
    driver.init = lambda: None
    for name, make in overrides.items():
        setattr(driver, name, make(Error))
    package = types.ModuleType("pycuda")
    package.driver = driver
    monkeypatch.setitem(sys.modules, "pycuda", package)
    monkeypatch.setitem(sys.modules, "pycuda.driver", driver)


def _runtime_warnings(calls):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [call() for call in calls]
    return results, [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_missing_driver_library_falls_back_with_one_warning(pretend_gpu, monkeypatch):
    monkeypatch.setitem(sys.modules, "pycuda.driver", None)  # `import pycuda.driver` raises ImportError
    results, caught = _runtime_warnings([lambda: pycuda_kernels.available("cuda:0")] * 3
                                        + [lambda: backend_status.describe_backend("cuda:0")])
    assert results[:3] == [False, False, False]
    assert results[3].startswith("filter ops: PyTorch fast path (pycuda or the CUDA driver library is not importable")
    assert len(caught) == 1 and str(caught[0].message) == results[3]


def test_driver_without_usable_gpu_falls_back_with_one_warning(pretend_gpu, monkeypatch):
    def failing_init(error):
        def init():
            raise error("cuInit failed: no CUDA-capable device is detected")
        return init

    _install_fake_driver(monkeypatch, init=failing_init)
    results, caught = _runtime_warnings([lambda: pycuda_kernels.available("cuda:0")] * 2)
    assert results == [False, False]
    assert len(caught) == 1
    assert "did not initialise: cuInit failed" in str(caught[0].message)


def test_unusable_fatbin_without_nvcc_steps_down_twice_once_each(pretend_gpu, monkeypatch):
    def failing_load(error):
        def module_from_buffer(data):
            raise error("cuModuleLoadData failed: no kernel image is available for execution on the device")
        return module_from_buffer

    _install_fake_driver(monkeypatch, module_from_buffer=failing_load)
    monkeypatch.setattr(cuda_context, "activate", lambda index: contextlib.nullcontext())
    monkeypatch.setattr(backend_status.shutil, "which", lambda name: None)
    results, caught = _runtime_warnings([lambda: pycuda_kernels.available("cuda:0")] * 2
                                        + [lambda: backend_status.describe_backend("cuda:0")])
    assert results[:2] == [False, False]
    assert [str(w.message).split(" (")[0] for w in caught] == ["filter ops: fatbin unusable on sm_61",
                                                               "filter ops: PyTorch fast path"]
    assert results[2].endswith("and no nvcc on PATH)")


def _filtered_lrelu_case(requires_grad=False):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 20, 20, generator=gen).requires_grad_(requires_grad)
    fu = torch.randn(12, generator=gen)
    fd = torch.randn(12, 12, generator=gen)
    b = torch.randn(3, generator=gen)
    args = dict(up=2, down=2, padding=[7, 6, 7, 6], gain=1.3, slope=0.2, clamp=2.0, flip_filter=False)
    return (x, fu, fd, b), args


def test_kernels_signal_an_unusable_device_with_a_type_not_a_message():
    (x, fu, fd, b), args = _filtered_lrelu_case()
    with pytest.raises(Unsupported) as info:
        pycuda_kernels.filtered_lrelu(x, fu, fd, b, **args)
    assert info.value.announced  # backend_status said it once already: no second warning


def test_the_dispatcher_steps_down_from_kernels_it_cannot_use_to_the_same_answer():
    inputs, args = _filtered_lrelu_case()
    ref = filtered_lrelu(*inputs, **args, impl="ref")
    (y,), caught = _runtime_warnings([lambda: filtered_lrelu(*inputs, **args, impl="cuda")])
    assert caught == []  # CPU tensors: the backend's own line already says why
    assert (y - ref).abs().max().item() <= 1e-5 * max(1.0, ref.abs().max().item())


def test_each_step_down_warns_once_and_keeps_the_reference_answer():
    inputs, args = _filtered_lrelu_case(requires_grad=True)
    WARNED_ONCE.difference_update({key for key in WARNED_ONCE if key[:2] == ("filtered_lrelu", "fast")})
    results, caught = _runtime_warnings([lambda: filtered_lrelu(*inputs, **args, impl="fast")] * 2)
    assert len(caught) == 1 and str(caught[0].message).startswith("filtered_lrelu: a gradient is needed")
    assert "using the PyTorch reference" in str(caught[0].message)
    ref = filtered_lrelu(*inputs, **args, impl="ref")
    torch.testing.assert_close(results[0], ref, rtol=0, atol=1e-6)
    assert results[0].requires_grad


def test_cpu_tensors_never_use_kernels():
    assert backend_status.resolve("cpu").describe() == "filter ops: PyTorch fast path (tensors on cpu, not a CUDA device)"
    assert not pycuda_kernels.available(torch.device("cpu"))


def test_importing_the_ops_touches_neither_pycuda_nor_the_gpu():
    code = ("import sys, torch, eqviz.cuda_ops.pycuda_kernels, eqviz.cuda_ops.backend_status, eqviz.cuda_ops.filtered_lrelu; "
            "assert 'pycuda' not in sys.modules; assert not torch.cuda.is_initialized()")
    subprocess.run([sys.executable, "-c", code], check=True)
