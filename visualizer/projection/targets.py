"""Target images for projection: any size and aspect, centre-cropped to a square and resized to the
generator's resolution (NVIDIA's projector: crop to the shorter side, Lanczos resize), in the colour
mode the generator makes (RGB, or grey for one-channel models)."""
import numpy as np
import torch
from PIL import Image

from eqviz.errors import EqvizError
from eqviz.untrusted.files import FileKind
from eqviz.untrusted.images import FORMATS_TEXT, MAX_IMAGE_BYTES, decode_image, open_image

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


TARGET_IMAGE = FileKind("target image", MAX_IMAGE_BYTES, f"pass a {FORMATS_TEXT} file", argument="targets")


def load_target(path, resolution: int, channels: int) -> np.ndarray:
    """An image file -> `prepare_target`'s uint8 array; InvalidArgument when it is not an image eqviz
    reads (eqviz.untrusted.images: only plain image formats, the pixel count checked first)."""
    if channels not in PIL_MODES:
        raise EqvizError(f"projection supports generators with 1 or 3 image channels, this one has {channels}")
    image = open_image(path, TARGET_IMAGE)
    # A JPEG decodes straight at the smallest 1/2^k scale still >= the target size: memory and
    # time follow the generator's resolution, not the photo's.
    return prepare_target(decode_image(image, TARGET_IMAGE, path, PIL_MODES[channels], (resolution, resolution)),
                          resolution, channels)


def target_tensor(pixels: np.ndarray, device="cpu") -> torch.Tensor:
    """[N, H, W, C] (or one [H, W, C]) uint8 -> [N, C, H, W] float32 in [-1, 1], the generator's range
    (NVIDIA's projector compares (image + 1) * 127.5 with the 8-bit target: the same mapping)."""
    if pixels.ndim == 3:
        pixels = pixels[None]
    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(device=device, dtype=torch.float32)
    return x.permute(0, 3, 1, 2) / 127.5 - 1
