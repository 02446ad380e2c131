"""Build eqviz.cuda_ops/kernels/eqviz_ops.fatbin, the precompiled kernels shipped in the package.

Why this route: the package must never need a compiler at run time, and the shipped binary must
reach sm_70 (which CUDA 13 no longer targets) and drivers older than CUDA 13. PyPI's CUDA 12
compiler packages carry no `nvcc` binary, but `nvidia-cuda-nvrtc-cu12` carries NVRTC, the same
CUDA 12 front end and assembler as a library. So: NVRTC 12 compiles eqviz_ops.cu once per target
(SASS for sm_70 ... sm_90, PTX for compute_90 so newer GPUs JIT it), and `fatbinary` (any CUDA
toolkit's; it only packs, it does not compile) bundles the images.

    python3 -m pip install --target /tmp/cu12 nvidia-cuda-nvrtc-cu12   # throwaway, not the project
    python3 tools/build_fatbin.py --nvrtc /tmp/cu12/nvidia/cuda_nvrtc/lib/libnvrtc.so.12

The script prints what the file holds (its own reading of the fatbin container, and
`cuobjdump --list-elf --list-ptx` when that tool is on PATH).
"""
import argparse
import ctypes
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent.parent / "eqviz.cuda_ops" / "kernels"
SOURCE = KERNEL_DIR / "eqviz_ops.cu"
OUTPUT = KERNEL_DIR / "eqviz_ops.fatbin"
SASS_ARCHS = (70, 75, 80, 86, 89, 90)
PTX_ARCH = 90

FATBIN_MAGIC = 0xBA55ED50
IMAGE_KINDS = {1: "ptx", 2: "elf"}


# ---- NVRTC through ctypes -------------------------------------------------------------------

class Nvrtc:
    """The handful of NVRTC entry points needed to turn one source into SASS or PTX."""

    def __init__(self, library: str):
        self.lib = ctypes.CDLL(library)
        self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p

    def version(self) -> str:
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._check(self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion")
        return f"{major.value}.{minor.value}"

    def compile(self, source: str, name: str, arch: str, include_dir: Path) -> bytes:
        """SASS (arch 'sm_XX') or PTX (arch 'compute_XX') for `source`; raises with the compiler log."""
        prog = ctypes.c_void_p()
        self._check(self.lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), name.encode(), 0, None, None),
                    "nvrtcCreateProgram")
        try:
            options = [f"--gpu-architecture={arch}", f"--include-path={include_dir}", "--std=c++17"]
            argv = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
            status = self.lib.nvrtcCompileProgram(prog, len(options), argv)
            log = self._log(prog)
            if status != 0:
                raise RuntimeError(f"NVRTC failed for {arch}:\n{log}")
            if log.strip():
                print(f"  [{arch}] compiler log:\n{log}")
            getter = "PTX" if arch.startswith("compute_") else "CUBIN"
            size = ctypes.c_size_t()
            self._check(getattr(self.lib, f"nvrtcGet{getter}Size")(prog, ctypes.byref(size)), f"nvrtcGet{getter}Size")
            buf = ctypes.create_string_buffer(size.value)
            self._check(getattr(self.lib, f"nvrtcGet{getter}")(prog, buf), f"nvrtcGet{getter}")
            data = buf.raw
            return data.rstrip(b"\0") + b"\0" if getter == "PTX" else data
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(prog))

    def _log(self, prog) -> str:
        size = ctypes.c_size_t()
        self.lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        self.lib.nvrtcGetProgramLog(prog, buf)
        return buf.value.decode(errors="replace")

    def _check(self, status: int, what: str) -> None:
        if status != 0:
            raise RuntimeError(f"{what} failed: {self.lib.nvrtcGetErrorString(status).decode()}")


# ---- fatbin container ------------------------------------------------------------------------

def list_fatbin_images(data: bytes) -> list:
    """[(kind, arch)] for every image in a fatbin, e.g. [('elf', 70), ..., ('ptx', 90)].

    Container layout: a 16-byte header (magic, version, header size, payload size) followed by
    entries, each with its own header (kind u16 at 0, header size u32 at 4, payload size u64 at 8,
    arch u32 at 28) and its payload.
    """
    images = []
    pos = 0
    while pos + 16 <= len(data):
        magic, _version, header_size, payload = struct.unpack_from("<IHHQ", data, pos)
        if magic != FATBIN_MAGIC:
            raise ValueError(f"not a fatbin container at byte {pos} (magic {magic:#x})")
        entry = pos + header_size
        end = entry + payload
        while entry < end:
            kind, _, entry_header, size = struct.unpack_from("<HHIQ", data, entry)
            arch = struct.unpack_from("<I", data, entry + 28)[0]
            images.append((IMAGE_KINDS.get(kind, f"kind{kind}"), arch))
            entry += entry_header + size
        pos = end
    return images


def default_nvrtc() -> str:
    """libnvrtc.so.12 from an installed nvidia-cuda-nvrtc-cu12, if any is on sys.path."""
    for entry in sys.path:
        candidate = Path(entry) / "nvidia" / "cuda_nvrtc" / "lib" / "libnvrtc.so.12"
        if candidate.is_file():
            return str(candidate)
    return "libnvrtc.so.12"


def build(nvrtc_path: str, fatbinary: str, output: Path) -> list:
    nvrtc = Nvrtc(nvrtc_path)
    print(f"NVRTC {nvrtc.version()} from {nvrtc_path}; packing with {fatbinary}")
    source = SOURCE.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        images = []
        for sm in SASS_ARCHS:
            path = Path(tmp) / f"sm_{sm}.cubin"
            path.write_bytes(nvrtc.compile(source, SOURCE.name, f"sm_{sm}", KERNEL_DIR))
            images.append(f"--image3=kind=elf,sm={sm},file={path}")
            print(f"  sm_{sm}: {path.stat().st_size} bytes of SASS")
        path = Path(tmp) / f"compute_{PTX_ARCH}.ptx"
        path.write_bytes(nvrtc.compile(source, SOURCE.name, f"compute_{PTX_ARCH}", KERNEL_DIR))
        images.append(f"--image3=kind=ptx,sm={PTX_ARCH},file={path}")
        print(f"  compute_{PTX_ARCH}: {path.stat().st_size} bytes of PTX")
        staged = Path(tmp) / output.name
        subprocess.run([fatbinary, "--64", f"--create={staged}", *images], check=True)
        os.replace(shutil.copy(staged, output.with_suffix(".fatbin.tmp")), output)
    return list_fatbin_images(output.read_bytes())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nvrtc", default=default_nvrtc(), help="path to a CUDA 12 libnvrtc.so.12")
    parser.add_argument("--fatbinary", default=shutil.which("fatbinary") or "/usr/local/cuda/bin/fatbinary",
                        help="the fatbinary packer of any CUDA toolkit")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--list-only", action="store_true", help="only print what an existing fatbin holds")
    args = parser.parse_args(argv)
    if args.list_only:
        images = list_fatbin_images(args.output.read_bytes())
    else:
        images = build(args.nvrtc, args.fatbinary, args.output)
    print(f"{args.output} ({args.output.stat().st_size} bytes) holds:")
    for kind, arch in images:
        print(f"  {kind} sm_{arch}" if kind == "elf" else f"  {kind} compute_{arch}")
    cuobjdump = shutil.which("cuobjdump")
    if cuobjdump:
        subprocess.run([cuobjdump, "--list-elf", "--list-ptx", str(args.output)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
