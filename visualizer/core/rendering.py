"""One frame from a Session: ws, input transform, synthesis — the path the app, CLI and videos share."""
import numpy as np
import torch

from eqviz.errors import EqvizError
from eqviz.core.input_transform import set_input_transform, transform_matrix
from eqviz.core.latents import session_ws


@torch.no_grad()
def render_session(G, session, device="cpu", ws: torch.Tensor | None = None) -> torch.Tensor:
    """Image [1, C, H, W] (about [-1, 1]) for the session's latent and transform."""
    if ws is None:
        ws = session_ws(G, session, device)
    set_input_transform(G, transform_matrix(session.translate, session.rotate_deg))
    return G.synthesis(ws, noise_mode=session.noise_mode)


def check_finite(img: torch.Tensor) -> torch.Tensor:
    if not bool(torch.isfinite(img).all()):
        raise EqvizError("the generator produced NaN or infinite pixels; the checkpoint's weights may be corrupt")
    return img


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[1, C, H, W] or [C, H, W] in [-1, 1] -> [H, W, C] uint8, with NVIDIA's rounding (x * 127.5 + 128)."""
    if img.ndim == 4:
        img = img[0]
    return (img.detach() * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
