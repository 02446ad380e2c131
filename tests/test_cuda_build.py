"""The kernel build, checked without a GPU: struct layouts, sources compile, the shipped fatbin."""
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from eqviz.cuda_ops import kernel_params, pycuda_kernels
from eqviz.cuda_ops.backend_status import FATBIN, KERNEL_DIR

REPO_ROOT = Path(__file__).resolve().parent.parent  # the checkout: tools/ is not installed with the package
NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not on PATH")


def _build_script():
    spec = importlib.util.spec_from_file_location("build_fatbin", REPO_ROOT / "tools" / "build_fatbin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_nvcc
def test_python_struct_mirrors_match_the_c_layout(tmp_path):
    lines = ['#include <cstddef>', '#include <cstdio>', '#include "eqviz_params.h"', "int main() {"]
    for struct, dtype in kernel_params.STRUCTS.items():
        lines.append(f'printf("{struct} sizeof %zu\\n", sizeof({struct}));')
        for field in dtype.names:
            lines.append(f'printf("{struct} {field} %zu\\n", offsetof({struct}, {field}));')
    lines.append("return 0; }")
    source = tmp_path / "layout.cpp"
    source.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([NVCC, "-x", "c++", f"-I{KERNEL_DIR}", str(source), "-o", str(exe)], check=True,
                   capture_output=True)
    printed = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    c_layout = {(s, f): int(v) for s, f, v in (line.split() for line in printed if line)}
    for struct, dtype in kernel_params.STRUCTS.items():
        assert c_layout[(struct, "sizeof")] == dtype.itemsize, struct
        for field in dtype.names:
            assert c_layout[(struct, field)] == dtype.fields[field][1], f"{struct}.{field}"


@needs_nvcc
@pytest.mark.parametrize("arch", ["sm_75", "sm_90"])
@pytest.mark.parametrize("source", sorted(p.name for p in KERNEL_DIR.glob("*.cu")))
def test_every_kernel_source_compiles(tmp_path, arch, source):
    result = subprocess.run([NVCC, f"-arch={arch}", "-cubin", "-Werror", "all-warnings",
                             "-o", str(tmp_path / "out.cubin"), str(KERNEL_DIR / source)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_shipped_fatbin_holds_sass_for_sm70_to_sm90_and_ptx():
    data = FATBIN.read_bytes()
    assert len(data) < 4 * 2**20, "the shipped fatbin should stay a few MB"
    images = _build_script().list_fatbin_images(data)
    assert sorted(arch for kind, arch in images if kind == "elf") == [70, 75, 80, 86, 89, 90]
    assert [arch for kind, arch in images if kind == "ptx"] == [90]


def _kernel_names_in_sources():
    text = "\n".join(p.read_text() for p in KERNEL_DIR.glob("*.cu"))
    return set(re.findall(r"^EQVIZ_\w+\((\w+),", text, flags=re.MULTILINE))


def _table_names():
    return (set(pycuda_kernels.UPFIRDN2D_KERNELS.values()) | set(pycuda_kernels.UPFIRDN2D_GENERIC.values())
            | set(pycuda_kernels.FILTERED_LRELU_KERNELS.values())
            | set(pycuda_kernels.FILTERED_LRELU_GENERIC.values()) | set(pycuda_kernels.BIAS_ACT_KERNELS.values()))


def test_every_table_entry_names_a_kernel_in_the_sources():
    assert _table_names() == _kernel_names_in_sources()


def test_shipped_fatbin_holds_every_kernel_of_the_sources_in_float32_and_float16():
    data = FATBIN.read_bytes()
    names = {variant for name in _kernel_names_in_sources() for variant in (name, name + pycuda_kernels.HALF_SUFFIX)}
    missing = sorted(name for name in names if name.encode() not in data)
    assert not missing, f"rebuild the fatbin (tools/build_fatbin.py): missing {missing}"


@needs_nvcc
def test_half_kernels_move_16_bits_and_float_kernels_32(tmp_path):
    """From the PTX: each _f16 kernel reads and writes its image as 16-bit values (filters and bias stay
    float32 loads), and no float32 kernel converts to half."""
    ptx = tmp_path / "eqviz_ops.ptx"
    subprocess.run([NVCC, "-arch=sm_90", "-ptx", "-o", str(ptx), str(KERNEL_DIR / "eqviz_ops.cu")], check=True,
                   capture_output=True)
    bodies = dict(re.findall(r"\.entry (\w+)\((.*?)\n}\n", ptx.read_text(), flags=re.S))
    assert set(bodies) == {v for n in _kernel_names_in_sources() for v in (n, n + pycuda_kernels.HALF_SUFFIX)}
    for name, body in bodies.items():
        stores = set(re.findall(r"\bst\.global\.(\w+)", body))
        width = "16" if name.endswith(pycuda_kernels.HALF_SUFFIX) else "32"
        assert stores and all(kind.endswith(width) for kind in stores), (name, stores)
        assert ("cvt.rn.f16.f32" in body and "ld.global.u16" in body) == (width == "16"), name


def test_stylegan3_layers_get_the_largest_fused_tile():
    import torch

    for up, down, fu_taps, fd_taps, fu_2d, fd_2d in pycuda_kernels.FILTERED_LRELU_KERNELS:
        fu = torch.ones((fu_taps, fu_taps) if fu_2d else (fu_taps,))
        fd = torch.ones((fd_taps, fd_taps) if fd_2d else (fd_taps,))
        geometry = pycuda_kernels.filtered_lrelu_geometry(fu, fd, up, down)
        assert geometry["tile_out_w"] == 32 and geometry["shared"] <= pycuda_kernels.SHARED_MEMORY_LIMIT


def test_filters_too_large_for_a_fused_tile_are_refused():
    import torch

    assert pycuda_kernels.filtered_lrelu_geometry(torch.ones(64, 64), torch.ones(64, 64), 1, 1) is None
