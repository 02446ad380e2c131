"""Target images for projection: any size and aspect, centre-cropped to a square and resized to the
generator's resolution (NVIDIA's projector: crop to the shorter side, Lanczos resize), in the colour
mode the generator makes (RGB, or grey for one-channel models)."""
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from eqviz.errors import EqvizError, InvalidArgument

PIL_MODES = {1: "L", 3: "RGB"}


def centre_square(image: Image.Image) -> Image.Image:
    """The largest centred square of the image (NVIDIA's crop box, integer-rounded the same way)."""
    w, h = image.size
    s = min(w, h)
    return image.crop(((w - s) // 2, (h - s) // 2, (w + s) // 2, (h + s) // 2))


def prepare_target(image: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """A PIL image -> [resolution, resolution, channels] uint8, cropped, resized and colour-converted."""
    if channels not in PIL_MODES:
        raise EqvizError(f"projection supports generators with 1 or 3 image channels, this one has {channels}")
    square = centre_square(image.convert(PIL_MODES[channels]))
    pixels = np.array(square.resize((resolution, resolution), Image.LANCZOS), dtype=np.uint8)  # a writable copy
    return pixels.reshape(resolution, resolution, channels)


def load_target(path, resolution: int, channels: int) -> np.ndarray:
    """An image file -> `prepare_target`'s uint8 array; EqvizError when it cannot be read as an image."""
    path = Path(path)
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a regular file"
        raise InvalidArgument(f"target image {path} {what}; pass a PNG or JPEG file", argument="targets")
    try:
        with Image.open(path) as image:
            # A JPEG decodes straight at the smallest 1/2^k scale still >= the target size: memory and
            # time follow the generator's resolution, not the photo's.
            image.draft(PIL_MODES.get(channels, "RGB"), (resolution, resolution))
            image.load()
            return prepare_target(image, resolution, channels)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidArgument(f"cannot read target image {path} ({reason}); pass a PNG or JPEG file",
                              argument="targets") from None


def target_tensor(pixels: np.ndarray, device="cpu") -> torch.Tensor:
    """[N, H, W, C] (or one [H, W, C]) uint8 -> [N, C, H, W] float32 in [-1, 1], the generator's range
    (NVIDIA's projector compares (image + 1) * 127.5 with the 8-bit target: the same mapping)."""
    if pixels.ndim == 3:
        pixels = pixels[None]
    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(device=device, dtype=torch.float32)
    return x.permute(0, 3, 1, 2) / 127.5 - 1
