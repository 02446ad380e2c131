"""Inception-v3 as in TensorFlow's 2015-12-05 graph, the network every published FID is measured with.

The FID variant differs from torchvision's Inception-v3 in four places (Heusel et al. 2017 used the
TF graph; pytorch-fid and torch-fidelity patch torchvision the same way): 1008 output classes, the
average pools of blocks 5b-7b skip the zero padding (`count_include_pad=False`), block 7c pools its
last branch with a max pool, and BatchNorm uses eps 1e-3. FID and KID read the 2048 features after
the global average pool ("pool3").

Weights: torch-fidelity's `weights-inception-2015-12-05-6726825d.pth` or pytorch-fid's
`pt_inception-2015-12-05-6726825d.pth` (the same tensors under the same key names), the user's file
or, when none is given, torch-fidelity's downloaded once and checked against the sha256 its name
promises. Either is parsed by eqviz.networks.checkpoints.torch_archive (never torch.load), so the file cannot run
code or make eqviz allocate what it does not hold, and every key and shape is checked before anything
is copied.
"""
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from eqviz.downloads.weights import INCEPTION_ENV, INCEPTION_URL, fetch_weights
from eqviz.errors import EqvizError, InvalidArgument
from eqviz.metrics.fid.pipeline import PIPELINES, to_inception_input
from eqviz.untrusted.files import FileKind

INCEPTION_FILES = (
    "weights-inception-2015-12-05-6726825d.pth (torch-fidelity's release v0.2.0 on GitHub, toshas/torch-fidelity) or "
    "pt_inception-2015-12-05-6726825d.pth (pytorch-fid's release fid_weights_0.1 on GitHub, mseitzer/pytorch-fid)"
)
MAX_WEIGHTS_BYTES = 512 * 2**20  # the real files are ~92 MB; anything far larger is not them
FEATURE_DIM = 2048
NUM_CLASSES = 1008


class InceptionWeightsError(EqvizError):
    """The Inception weights file is missing, unreadable or not the FID Inception-v3."""


# ---- Layers -----------------------------------------------------------------------------------------
class ConvBN(nn.Module):
    """Convolution without bias, BatchNorm (eps 1e-3, TF's value), ReLU: TF's conv2d + batchnorm node."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-1 'SAME' average pool that divides by the number of real (unpadded) inputs, as TF does."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class Mixed35(nn.Module):
    """Blocks 5b, 5c, 5d (35x35): 1x1, 5x5, double 3x3 and pooled branches."""

    def __init__(self, in_channels: int, pool_channels: int):
        super().__init__()
        self.branch1x1 = ConvBN(in_channels, 64, 1)
        self.branch5x5_1 = ConvBN(in_channels, 48, 1)
        self.branch5x5_2 = ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(in_channels, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(in_channels, pool_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(tf_avg_pool(x)),
        ], dim=1)


class Reduce35to17(nn.Module):
    """Block 6a: stride-2 3x3, stride-2 double 3x3 and a max pool."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = ConvBN(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(in_channels, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], dim=1)


class Mixed17(nn.Module):
    """Blocks 6b-6e (17x17): factorised 7x7 convolutions (1x7 then 7x1) with `mid` channels inside."""

    def __init__(self, in_channels: int, mid: int):
        super().__init__()
        row, col = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1), padding=(3, 0))
        self.branch1x1 = ConvBN(in_channels, 192, 1)
        self.branch7x7_1 = ConvBN(in_channels, mid, 1)
        self.branch7x7_2 = ConvBN(mid, mid, **row)
        self.branch7x7_3 = ConvBN(mid, 192, **col)
        self.branch7x7dbl_1 = ConvBN(in_channels, mid, 1)
        self.branch7x7dbl_2 = ConvBN(mid, mid, **col)
        self.branch7x7dbl_3 = ConvBN(mid, mid, **row)
        self.branch7x7dbl_4 = ConvBN(mid, mid, **col)
        self.branch7x7dbl_5 = ConvBN(mid, 192, **row)
        self.branch_pool = ConvBN(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = layer(d7)
        return torch.cat([self.branch1x1(x), b7, d7, self.branch_pool(tf_avg_pool(x))], dim=1)


class Reduce17to8(nn.Module):
    """Block 7a: stride-2 3x3 after 1x1, stride-2 3x3 after a factorised 7x7, and a max pool."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = ConvBN(in_channels, 192, 1)
        self.branch3x3_2 = ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(in_channels, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([
            self.branch3x3_2(self.branch3x3_1(x)),
            b7,
            F.max_pool2d(x, kernel_size=3, stride=2),
        ], dim=1)


class Mixed8(nn.Module):
    """Blocks 7b and 7c (8x8): split 1x3 / 3x1 branches. TF's 7c pools with a max pool (`max_pool`)."""

    def __init__(self, in_channels: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = ConvBN(in_channels, 320, 1)
        self.branch3x3_1 = ConvBN(in_channels, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBN(in_channels, 448, 1)
        self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else tf_avg_pool(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(s), self.branch3x3_2b(s),
            self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d),
            self.branch_pool(pooled),
        ], dim=1)

    def extra_repr(self) -> str:
        return f"pool={'max' if self.max_pool else 'avg (no padding)'}"


# ---- The network ------------------------------------------------------------------------------------
class InceptionV3FID(nn.Module):
    """uint8 images [N, 3, H, W] -> pool3 features [N, 2048] float64 (computed in float32).

    `pipeline` chooses how images reach 299x299 (see eqviz.metrics.fid.pipeline).
    """

    def __init__(self, pipeline: str = "tf"):
        super().__init__()
        if pipeline not in PIPELINES:
            raise InvalidArgument(f"unknown FID pipeline {pipeline!r}; choose from {', '.join(PIPELINES)}", "pipeline")
        self.pipeline = pipeline
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)           # [N, 32, 149, 149]
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)                    # [N, 32, 147, 147]
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)         # [N, 64, 147, 147], then pool -> 73
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)                    # [N, 80, 73, 73]
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)                   # [N, 192, 71, 71], then pool -> 35
        self.Mixed_5b = Mixed35(192, pool_channels=32)            # [N, 256, 35, 35]
        self.Mixed_5c = Mixed35(256, pool_channels=64)            # [N, 288, 35, 35]
        self.Mixed_5d = Mixed35(288, pool_channels=64)            # [N, 288, 35, 35]
        self.Mixed_6a = Reduce35to17(288)                         # [N, 768, 17, 17]
        self.Mixed_6b = Mixed17(768, mid=128)
        self.Mixed_6c = Mixed17(768, mid=160)
        self.Mixed_6d = Mixed17(768, mid=160)
        self.Mixed_6e = Mixed17(768, mid=192)                     # [N, 768, 17, 17]
        self.Mixed_7a = Reduce17to8(768)                          # [N, 1280, 8, 8]
        self.Mixed_7b = Mixed8(1280, max_pool=False)              # [N, 2048, 8, 8]
        self.Mixed_7c = Mixed8(2048, max_pool=True)               # [N, 2048, 8, 8]
        self.fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)             # logits; unused by FID, kept so the file maps 1:1

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise EqvizError(f"Inception wants uint8 images [N, 3, H, W], got {images.dtype} {tuple(images.shape)}")
        x = to_inception_input(images, self.pipeline)            # [N, 3, 299, 299] float32 in [-1, 1]
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean(dim=(2, 3)).to(torch.float64)              # pool3: [N, 2048]

    def extra_repr(self) -> str:
        return f"pipeline={self.pipeline!r}"


# ---- Loading ----------------------------------------------------------------------------------------
def inception_path(path=None) -> Path:
    """The weights file: `path` if given, else $EQVIZ_INCEPTION, else torch-fidelity's public file,
    downloaded once into the cache and checked against the sha256 its name promises."""
    chosen = path if path is not None else os.environ.get(INCEPTION_ENV) or None
    if chosen is None:
        return fetch_weights(INCEPTION_URL)
    return Path(chosen)


def read_inception_state(path) -> dict:
    """The file's tensors, parsed by eqviz (eqviz.networks.checkpoints.torch_archive): nothing in it runs, and
    nothing it declares is allocated before it is checked against the file."""
    from eqviz.networks.checkpoints.torch_archive import read_weights

    kind = FileKind("Inception weights", MAX_WEIGHTS_BYTES, f"pass {INCEPTION_FILES}", error=InceptionWeightsError)
    return read_weights(path, kind)


def check_inception_state(state: dict, model: nn.Module, source: str) -> None:
    """Every key present, none extra, every shape and dtype kind right (num_batches_tracked may be absent)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        detail = (f"{len(missing)} missing (first: {missing[0]})" if missing else "") + \
                 (", " if missing and extra else "") + (f"{len(extra)} unexpected (first: {extra[0]})" if extra else "")
        raise InceptionWeightsError(f"{source} is not the FID Inception-v3 ({detail}); pass {INCEPTION_FILES}")
    for key, want in expected.items():
        if key not in state:
            continue
        got = state[key]
        if tuple(got.shape) != tuple(want.shape):
            raise InceptionWeightsError(f"{source}: {key} has shape {tuple(got.shape)}, the FID Inception-v3 has "
                                        f"{tuple(want.shape)}; pass {INCEPTION_FILES}")
        if got.is_floating_point() != want.is_floating_point() or got.is_complex():
            raise InceptionWeightsError(f"{source}: {key} is {got.dtype}, expected {want.dtype}; pass {INCEPTION_FILES}")
        if got.is_floating_point() and not torch.isfinite(got).all():
            raise InceptionWeightsError(f"{source}: {key} holds NaN or infinite values; the file is damaged")


def load_inception(path=None, pipeline: str = "tf", device="cpu") -> InceptionV3FID:
    """The FID Inception with the user's weights, in eval mode, on `device`.

    Args:
        path: weights file (torch-fidelity's or pytorch-fid's .pth); None reads $EQVIZ_INCEPTION.
        pipeline: 'tf' (TF-1 bilinear resize, comparable with NVIDIA's and TF's FIDs) or
            'pytorch-fid' (torch's bilinear resize, comparable with pytorch-fid's).
        device: where the network runs.
    """
    path = inception_path(path)
    model = InceptionV3FID(pipeline)
    state = read_inception_state(path)
    check_inception_state(state, model, str(path))
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if key in state:
                value.copy_(state[key].to(value.dtype))
    model.weights_path = path  # the cache keys real-data statistics by these bytes
    return model.eval().requires_grad_(False).to(device)
