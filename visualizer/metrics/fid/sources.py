"""Where FID images come from: a generator checkpoint, an image folder, or a dataset zip.

Every source hands out uint8 images [n, 3, H, W] by sample index, so a metric can split indices
over batches and processes. Generators follow NVIDIA's FID protocol: z ~ N(0, I), truncation psi 1,
noise const, and for conditional models a class per sample (drawn from the real data's labels when
they are known, as NVIDIA does, else uniformly). Sample i draws from numpy default_rng([seed, i]).
Folders and zips are read as NVIDIA's dataset_tool writes them: every image file, sorted by
relative path, labels from `dataset.json` ({"labels": [[name, label], ...]}) when present.
"""
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from eqviz.core.images import images_to_rgb8
from eqviz.downloads.fetch import local_checkpoint
from eqviz.errors import EqvizError

IMAGE_EXTENSIONS = frozenset(ext.lower() for ext in Image.registered_extensions())
LABELS_FILE = "dataset.json"


class ImageSourceError(EqvizError):
    """An image folder or dataset zip is empty, unreadable, or holds images that do not fit together."""


def format_count(n: int) -> str:
    """50000 -> '50k' as NVIDIA names its metrics (fid50k_full); other counts as they are."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


# ---- Real images ------------------------------------------------------------------------------------
class ImageData:
    """An image folder or a dataset zip: sorted image names, their resolution, optional labels."""

    def __init__(self, path):
        self.path = Path(path)
        self.kind = "zip" if self.path.is_file() else "folder"
        self.resize_to = None  # (H, W) when the caller asked for real images at another resolution
        if self.kind == "zip":
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ImageSourceError(f"{self.path} is not a readable zip ({exc}); pass a folder of images or a "
                                       f"zip written by NVIDIA's dataset_tool.py") from None
            names = [n for n in self._zip.namelist() if Path(n).suffix.lower() in IMAGE_EXTENSIONS]
            labels_text = self._zip.read(LABELS_FILE) if LABELS_FILE in self._zip.namelist() else None
        else:
            files = [p for p in self.path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
            names = [p.relative_to(self.path).as_posix() for p in files]
            labels_file = self.path / LABELS_FILE
            labels_text = labels_file.read_bytes() if labels_file.is_file() else None
        self.names = sorted(names)
        if not self.names:
            raise ImageSourceError(f"{self.path} holds no images (looked for {', '.join(sorted({'.png', '.jpg', '.jpeg', '.webp'}))} "
                                   f"and other formats PIL reads); pass a folder or zip with the real images")
        self.labels = self._read_labels(labels_text)
        first = self.read(0, resize=False)
        self.native_resolution = first.shape[:2]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def resolution(self) -> tuple:
        return self.resize_to or self.native_resolution

    def describe(self) -> str:
        h, w = self.resolution
        return f"{self.kind} {self.path} ({len(self)} images, {w}x{h})"

    def _read_labels(self, text):
        """[n] class indices or [n, c] vectors in image order, or None (no dataset.json, or labels null)."""
        if text is None:
            return None
        try:
            pairs = json.loads(text).get("labels")
        except (ValueError, AttributeError):
            raise ImageSourceError(f"{self.path}: {LABELS_FILE} is not JSON with a 'labels' list; fix or remove it") from None
        if pairs is None:
            return None
        by_name = {str(name).replace("\\", "/"): label for name, label in pairs}
        missing = [n for n in self.names if n not in by_name]
        if missing:
            raise ImageSourceError(f"{self.path}: {LABELS_FILE} has no label for {missing[0]} "
                                   f"({len(missing)} images unlabelled); fix or remove it")
        return np.array([by_name[n] for n in self.names])

    def _bytes(self, name: str) -> bytes:
        if self.kind == "zip":
            return self._zip.read(name)
        return (self.path / name).read_bytes()

    def read(self, i: int, resize: bool = True) -> np.ndarray:
        """Image i as [H, W, 3] uint8 (grey images repeated to RGB, alpha dropped, as pytorch-fid reads)."""
        name = self.names[i]
        try:
            with Image.open(io.BytesIO(self._bytes(name))) as img:
                img = img.convert("RGB")
                if resize and self.resize_to is not None and img.size != self.resize_to[::-1]:
                    img = img.resize(self.resize_to[::-1], Image.LANCZOS)  # dataset_tool's resampling
                array = np.asarray(img)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageSourceError(f"{self.path}: {name} is not a readable image ({exc}); remove or replace it") from None
        if resize and i and self.resize_to is None and array.shape[:2] != self.native_resolution:
            h, w = self.native_resolution
            raise ImageSourceError(f"{self.path}: {name} is {array.shape[1]}x{array.shape[0]} but {self.names[0]} is "
                                   f"{w}x{h}; a dataset holds one resolution (NVIDIA's dataset_tool.py can resize)")
        return array

    def images(self, indices, device="cpu") -> torch.Tensor:
        """uint8 [n, 3, H, W] of the given image indices."""
        batch = np.stack([self.read(int(i)) for i in indices])
        return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous().to(device)

    def content_digest(self) -> str:
        """sha256 over the image names and bytes in order (and the labels file): the cache key of this data."""
        h = hashlib.sha256()
        for name in self.names:
            h.update(name.encode() + b"\0")
            h.update(hashlib.sha256(self._bytes(name)).digest())
        return h.hexdigest()


# ---- Generated images -------------------------------------------------------------------------------
class GeneratorSamples:
    """NVIDIA's FID sampling of a generator, reproducible per sample index."""

    kind = "checkpoint"

    def __init__(self, G, name: str, seed: int = 0, labels=None, device="cpu"):
        self.G = G
        self.name = name
        self.seed = seed
        self.device = torch.device(device)
        self.labels = labels if labels is not None and G.c_dim else None  # real labels to draw classes from
        self.resolution = (G.img_resolution, G.img_resolution)

    def describe(self) -> str:
        return f"checkpoint {self.name} ({self.resolution[1]}x{self.resolution[0]} generator)"

    def draw(self, i: int) -> tuple:
        """(z [z_dim] float32, c [c_dim] float32) of sample i."""
        rng = np.random.default_rng([self.seed, i])
        z = rng.standard_normal(self.G.z_dim).astype(np.float32)
        c = np.zeros(self.G.c_dim, np.float32)
        if self.labels is not None:
            label = self.labels[rng.integers(len(self.labels))]
            if np.ndim(label) == 0:
                c[int(label)] = 1
            else:
                c[:] = label
        elif self.G.c_dim:
            c[rng.integers(self.G.c_dim)] = 1
        return z, c

    @torch.no_grad()
    def images(self, indices, device=None) -> torch.Tensor:
        draws = [self.draw(int(i)) for i in indices]
        z = torch.from_numpy(np.stack([d[0] for d in draws])).to(self.device)
        c = torch.from_numpy(np.stack([d[1] for d in draws])).to(self.device)
        img = self.G.synthesis(self.G.mapping(z, c, truncation_psi=1), noise_mode="const")
        if not torch.isfinite(img).all():
            raise EqvizError(f"{self.name} produced NaN or infinite pixels; the checkpoint's weights are broken")
        return images_to_rgb8(img).permute(0, 3, 1, 2)  # NVIDIA's 8-bit conversion, grey repeated to RGB


def open_source(spec, device="cpu", seed: int = 0):
    """A folder or zip path -> ImageData; a loaded generator or a checkpoint path -> GeneratorSamples."""
    if isinstance(spec, (ImageData, GeneratorSamples)):
        return spec
    if isinstance(spec, torch.nn.Module):
        return GeneratorSamples(spec, type(spec).__name__, seed=seed, device=device)
    path = local_checkpoint(spec)  # a URL or a published model's name is fetched first
    if not path.exists():
        raise EqvizError(f"{path} does not exist; pass a checkpoint, an image folder or a dataset zip")
    if path.is_dir() or path.suffix.lower() == ".zip":
        return ImageData(path)
    from eqviz.networks import load_generator

    return GeneratorSamples(load_generator(path, device=device), path.name, seed=seed, device=device)
