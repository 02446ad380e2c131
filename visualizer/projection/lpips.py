"""LPIPS (Zhang et al. 2018, v0.1, VGG16 trunk) from weight files the user supplies, or the public ones
fetched once into the cache (eqviz.downloads.weights).

Two files: torchvision's ImageNet VGG16 state dict (`vgg16-397923af.pth`) and LPIPS's v0.1 linear heads
(`weights/v0.1/vgg.pth` of the lpips package). Both are parsed by eqviz.networks.checkpoints.torch_archive (never
torch.load): regular files of a plausible size, dicts of tensors only, every declared size checked
against the file; then every key, shape and value (finite) is checked before anything is used.
"""
import torch
import torch.nn.functional as F

from eqviz.errors import InvalidArgument
from eqviz.untrusted.files import FileKind

HOW_TO_GET = ("LPIPS needs two files: torchvision's VGG16 weights vgg16-397923af.pth and LPIPS v0.1's linear "
              "heads vgg.pth (weights/v0.1/vgg.pth of the lpips package)")

# VGG16's 13 convolutions as (torchvision `features` index, in, out); 'M' = 2x2 max pool.
VGG16_LAYERS = (
    (0, 3, 64), (2, 64, 64), "M",
    (5, 64, 128), (7, 128, 128), "M",
    (10, 128, 256), (12, 256, 256), (14, 256, 256), "M",
    (17, 256, 512), (19, 512, 512), (21, 512, 512), "M",
    (24, 512, 512), (26, 512, 512), (28, 512, 512),
)
# LPIPS reads the ReLU outputs relu1_2, relu2_2, relu3_3, relu4_3, relu5_3: after these convolutions.
TAPPED_CONVS = (2, 7, 14, 21, 28)
TAPPED_CHANNELS = (64, 128, 256, 512, 512)

# LPIPS v0.1 maps [-1, 1] images onto ImageNet statistics with this shift and scale per channel.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)

MAX_VGG_BYTES = 1 << 30     # the real file is 528 MB
MAX_LIN_BYTES = 1 << 20     # the real file is 7 kB


class VGG16Features(torch.nn.Module):
    """VGG16's convolutional trunk (Simonyan & Zisserman 2015): the five ReLU outputs LPIPS compares."""

    def __init__(self):
        super().__init__()
        self.weights = torch.nn.ParameterDict()
        self.biases = torch.nn.ParameterDict()
        for layer in VGG16_LAYERS:
            if layer != "M":
                index, c_in, c_out = layer
                self.weights[str(index)] = torch.nn.Parameter(torch.zeros([c_out, c_in, 3, 3]))
                self.biases[str(index)] = torch.nn.Parameter(torch.zeros([c_out]))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # [N, 3, H, W] -> 5 maps [N, C_k, H/2^k, W/2^k]
        taps = []
        for layer in VGG16_LAYERS:
            if layer == "M":
                x = F.max_pool2d(x, kernel_size=2, stride=2)
                continue
            index = str(layer[0])
            x = F.relu(F.conv2d(x, self.weights[index], self.biases[index], padding=1))
            if layer[0] in TAPPED_CONVS:
                taps.append(x)
        return taps


def unit_normalize(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Each pixel's feature vector divided by its length (LPIPS's normalize_tensor)."""
    return x / (x.square().sum(dim=1, keepdim=True).sqrt() + eps)


class LPIPS(torch.nn.Module):
    """d(x, y) = sum over the 5 taps of mean over pixels of lin_k . (unit(f_k(x)) - unit(f_k(y)))^2."""

    def __init__(self):
        super().__init__()
        self.vgg = VGG16Features()
        self.lins = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros([c])) for c in TAPPED_CHANNELS])
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).reshape(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).reshape(1, 3, 1, 1))

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """The unit-normalised taps of images in [-1, 1] ([N, 3, H, W]; grey images are repeated to RGB)."""
        if img.shape[1] == 1:
            img = img.expand(-1, 3, -1, -1)
        return [unit_normalize(f) for f in self.vgg((img - self.shift) / self.scale)]

    def distance(self, a: list[torch.Tensor], b: list[torch.Tensor]) -> torch.Tensor:
        """Per-sample LPIPS [N] between two `features()` results."""
        return sum(((fa - fb).square() * lin.reshape(1, -1, 1, 1)).sum(dim=1).mean(dim=[1, 2])
                   for fa, fb, lin in zip(a, b, self.lins))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # [N, C, H, W] x 2 -> [N]
        return self.distance(self.features(x), self.features(y))


# ---- Reading the user's files -----------------------------------------------------------------------
def _read_state_dict(path, what: str, max_bytes: int, argument: str) -> dict:
    """The {name: tensor} file at `path`, parsed by eqviz.networks.checkpoints.torch_archive (nothing in it runs)."""
    from eqviz.networks.checkpoints.torch_archive import read_weights

    return read_weights(path, FileKind(f"LPIPS {what} file", max_bytes, HOW_TO_GET, argument=argument))


def _take(data: dict, key: str, shape: tuple, path, what: str, argument: str) -> torch.Tensor:
    if key not in data:
        raise InvalidArgument(f"LPIPS {what} file {path} lacks {key}; it is not the expected file ({HOW_TO_GET})",
                              argument=argument)
    value = data[key]
    if tuple(value.shape) != shape or not value.dtype.is_floating_point:
        raise InvalidArgument(f"LPIPS {what} file {path}: {key} has shape {list(value.shape)[:8]} ({value.dtype}), "
                              f"want {list(shape)}; it is not the expected file ({HOW_TO_GET})", argument=argument)
    if not torch.isfinite(value).all():
        raise InvalidArgument(f"LPIPS {what} file {path}: {key} holds NaN or infinite values; the file is damaged "
                              f"({HOW_TO_GET})", argument=argument)
    return value.to(torch.float32)


def load_lpips(lpips_vgg=None, lpips_lin=None, device="cpu") -> LPIPS:
    """LPIPS with torchvision's VGG16 weights (file `lpips_vgg`) and LPIPS v0.1 linear heads (file `lpips_lin`);
    a file not given is downloaded once from its public release.

    Raises:
        InvalidArgument: a file is missing, not a weight file, unsafe, or lacks a key / has a wrong shape.
    """
    from eqviz.downloads.weights import LPIPS_LIN_URL, VGG16_URL, fetch_weights

    lpips_vgg = lpips_vgg if lpips_vgg else fetch_weights(VGG16_URL)  # not given: the public files, checked
    lpips_lin = lpips_lin if lpips_lin else fetch_weights(LPIPS_LIN_URL)
    vgg = _read_state_dict(lpips_vgg, "VGG16", MAX_VGG_BYTES, "lpips_vgg")
    lin = _read_state_dict(lpips_lin, "linear-head", MAX_LIN_BYTES, "lpips_lin")
    net = LPIPS()
    with torch.no_grad():
        for layer in VGG16_LAYERS:
            if layer != "M":
                index, c_in, c_out = layer
                net.vgg.weights[str(index)].copy_(_take(vgg, f"features.{index}.weight", (c_out, c_in, 3, 3),
                                                        lpips_vgg, "VGG16", "lpips_vgg"))
                net.vgg.biases[str(index)].copy_(_take(vgg, f"features.{index}.bias", (c_out,), lpips_vgg, "VGG16",
                                                       "lpips_vgg"))
        for k, c in enumerate(TAPPED_CHANNELS):
            net.lins[k].copy_(_take(lin, f"lin{k}.model.1.weight", (1, c, 1, 1), lpips_lin, "linear-head",
                                 "lpips_lin").reshape(c))
    return net.to(device).eval().requires_grad_(False)
