"""The public weight files FID, KID and LPIPS fetch when the user gives none.

Each file's sha256 is checked before it is used: torch hub's files promise the start of it in their
names (the part after the last '-': `vgg16-397923af.pth`), and LPIPS's `vgg.pth`, whose name
promises nothing, is pinned here to the bytes the lpips 0.1.4 package ships. A file that does not
match is deleted and refused. The readers then check every key and shape as for a user's file.
"""
import re
import urllib.parse
from pathlib import Path
from typing import Callable

from eqviz.downloads.fetch import fetch

INCEPTION_ENV = "EQVIZ_INCEPTION"  # the user's Inception file, when not given as an argument
# torch-fidelity's release of the TF Inception (v0.2.0); pytorch-fid's holds the same weights.
INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"  # torchvision's ImageNet VGG16
LPIPS_LIN_URL = "https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/weights/v0.1/vgg.pth"
PINNED_SHA256 = {LPIPS_LIN_URL: "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"}


def promised_sha256(url: str) -> str | None:
    """The sha256 (or its start) a weight file must have: pinned here, or promised by its name."""
    if url in PINNED_SHA256:
        return PINNED_SHA256[url]
    stem = Path(urllib.parse.urlparse(url).path).stem
    match = re.search(r"-([0-9a-f]{8,64})$", stem)
    return match[1] if match else None


def fetch_weights(url: str, progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> Path:
    """The local copy of a weight file, downloaded once and checked against its promised sha256."""
    return fetch(url, progress=progress, cancel=cancel, sha256_prefix=promised_sha256(url))
