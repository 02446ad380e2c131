"""Where FID images come from: a generator checkpoint, an image folder, or a dataset zip.

Every source hands out uint8 images [n, 3, H, W] by sample index, so a metric can split indices
over batches and processes. Generators follow NVIDIA's FID protocol: z ~ N(0, I), truncation psi 1,
noise const, and for conditional models a class per sample (drawn from the real data's labels when
they are known, as NVIDIA does, else uniformly). Sample i draws from numpy default_rng([seed, i]).
Folders and zips are read as NVIDIA's dataset_tool writes them: every image file, sorted by
relative path, labels from `dataset.json` ({"labels": [[name, label], ...]}) when present.
"""
import hashlib
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from eqviz.core.images import images_to_rgb8
from eqviz.downloads.fetch import local_checkpoint
from eqviz.errors import EqvizError
from eqviz.untrusted.archives import UntrustedZip
from eqviz.untrusted.files import FileKind, describe_non_regular, read_untrusted
from eqviz.untrusted.images import IMAGE_EXTENSIONS, MAX_IMAGE_BYTES, decode_image, open_image
from eqviz.untrusted.json_text import JSONRefused, parse_json

MAX_CLASSES = 1 << 20         # classes (or label-vector length) a label may name
LABELS_FILE = "dataset.json"
MAX_LABELS_BYTES = 64 << 20   # dataset.json of ImageNet's 1.28 million images is about 40 MB


class ImageSourceError(EqvizError):
    """An image folder or dataset zip is empty, unreadable, or holds images that do not fit together."""


REAL_IMAGES = FileKind("real image data", 1 << 40, "pass a folder of images or a zip written by NVIDIA's "
                       "dataset_tool.py", error=ImageSourceError)
DATASET_IMAGE = FileKind("dataset image", MAX_IMAGE_BYTES, "remove or replace it", error=ImageSourceError)
LABELS = FileKind("labels file", MAX_LABELS_BYTES, f'fix or remove it (NVIDIA\'s {LABELS_FILE} holds '
                  '{"labels": [[name, class or vector], ...]} or {"labels": null})', error=ImageSourceError)


def format_count(n: int) -> str:
    """50000 -> '50k' as NVIDIA names its metrics (fid50k_full); other counts as they are."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def check_regular_folder(path: Path) -> None:
    """A folder of real images must be a folder (a FIFO or device given as data is named as such)."""
    if not path.is_dir():
        problem = describe_non_regular(path.stat().st_mode) if path.exists() else "does not exist"
        raise REAL_IMAGES.refuse(path, problem or "is neither a folder nor a .zip file")


def labels_by_name(pairs, where) -> dict:
    """{image name: label} from dataset.json's pairs: each [name, class index] or [name, [numbers]], all
    labels of one kind (vectors of one length)."""
    if not isinstance(pairs, list):
        raise LABELS.refuse(where, f"has 'labels' of type {type(pairs).__name__}, not a list")
    by_name, shape = {}, None
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise LABELS.refuse(where, "has a label entry that is not a [name, label] pair")
        label = pair[1]
        if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < MAX_CLASSES:
            here = ()
        elif isinstance(label, list) and 0 < len(label) <= MAX_CLASSES and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in label):
            here = (len(label),)
        else:
            raise LABELS.refuse(where, f"has a label for {pair[0][:200]} that is neither a class index (0 to "
                                       f"{MAX_CLASSES - 1}) nor a list of numbers")
        if shape is not None and here != shape:
            raise LABELS.refuse(where, "mixes labels of different kinds or lengths")
        shape = here
        by_name[pair[0].replace("\\", "/")] = label
    return by_name


# ---- Real images ------------------------------------------------------------------------------------
class ImageData:
    """An image folder or a dataset zip: sorted image names, their resolution, optional labels."""

    def __init__(self, path):
        self.path = Path(path)
        self.kind = "zip" if self.path.is_file() else "folder"
        self.resize_to = None  # (H, W) when the caller asked for real images at another resolution
        self._zip = UntrustedZip(self.path, REAL_IMAGES) if self.kind == "zip" else None
        try:
            names, labels_text = self._listing()
            self.names = sorted(names)
            if not self.names:
                raise ImageSourceError(f"{self.path} holds no images (looked for "
                                       f"{', '.join(sorted(IMAGE_EXTENSIONS))}); pass a folder or zip with the real images")
            self.labels = self._read_labels(labels_text)
            self.native_resolution = self.read(0, resize=False).shape[:2]
        except EqvizError:
            if self._zip is not None:  # refused: the archive is not kept open
                self._zip.close()
            raise

    def _listing(self) -> tuple:
        """The image names (not sorted) and the text of dataset.json (None when there is none)."""
        if self._zip is not None:
            names = [n for n in self._zip.names() if PurePosixPath(n).suffix.lower() in IMAGE_EXTENSIONS]
            labels = self._zip.read(LABELS_FILE, MAX_LABELS_BYTES) if LABELS_FILE in self._zip else None
            return names, labels
        check_regular_folder(self.path)
        names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                 if p.suffix.lower() in IMAGE_EXTENSIONS and not p.is_dir()]
        labels_file = self.path / LABELS_FILE
        return names, (read_untrusted(labels_file, LABELS) if labels_file.exists() else None)

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
        where = f"{self.path}/{LABELS_FILE}" if self.kind == "folder" else f"{self.path}:{LABELS_FILE}"
        try:
            document = parse_json(text)
        except JSONRefused as exc:
            raise LABELS.refuse(where, str(exc)) from None
        if not isinstance(document, dict):
            raise LABELS.refuse(where, "is not a JSON object with a 'labels' list")
        pairs = document.get("labels")
        if pairs is None:
            return None
        by_name = labels_by_name(pairs, where)
        missing = [n for n in self.names if n not in by_name]
        if missing:
            raise LABELS.refuse(where, f"has no label for {missing[0][:200]} ({len(missing)} images unlabelled)")
        return np.array([by_name[n] for n in self.names])

    def _bytes(self, name: str) -> bytes:
        if self.kind == "zip":
            return self._zip.read(name, MAX_IMAGE_BYTES)
        return read_untrusted(self.path / name, DATASET_IMAGE)

    def read(self, i: int, resize: bool = True) -> np.ndarray:
        """Image i as [H, W, 3] uint8 (grey images repeated to RGB, alpha dropped, as pytorch-fid reads)."""
        name = self.names[i]
        where = f"{self.path}:{name}" if self.kind == "zip" else self.path / name
        img = decode_image(open_image(self._bytes(name), DATASET_IMAGE, where), DATASET_IMAGE, where, "RGB")
        if resize and self.resize_to is not None and img.size != self.resize_to[::-1]:
            img = img.resize(self.resize_to[::-1], Image.LANCZOS)  # dataset_tool's resampling
        array = np.asarray(img)
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
