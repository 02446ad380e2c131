"""One frame from a Session: ws, pose, synthesis — the path the app, CLI and videos share."""
import contextlib

import torch

from eqviz.errors import EqvizError
from eqviz.core.input_transform import synthesize_posed
from eqviz.core.latents import session_ws


def synthesis_settings(session) -> dict:
    """The session's truncation, noise and class, as the keyword arguments a video or sticking spec takes."""
    return dict(psi=session.psi, cutoff=session.cutoff, noise_mode=session.noise_mode, class_idx=session.class_idx)


@contextlib.contextmanager
def seeded_noise(session, device="cpu"):
    """Synthesis inside draws StyleGAN2's 'random' noise from `session.noise_seed`: a frame rendered
    again looks the same, and new noise comes only with a new noise seed (NVIDIA's noise seed). The
    global generator's state is restored afterwards."""
    if session.noise_mode != "random":
        yield
        return
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(session.noise_seed))
        yield


def session_pose(session) -> tuple:
    """The session's (translate, rotate_deg)."""
    return tuple(float(v) for v in session.translate), float(session.rotate_deg)


@torch.no_grad()
def render_session(G, session, device="cpu", ws: torch.Tensor | None = None) -> torch.Tensor:
    """Image [1, C, H, W] (about [-1, 1]) for the session's latent and pose."""
    if ws is None:
        ws = session_ws(G, session, device)
    with seeded_noise(session, device):
        return synthesize_posed(G, ws, session_pose(session), noise_mode=session.noise_mode)


def check_finite(img: torch.Tensor) -> torch.Tensor:
    if not bool(torch.isfinite(img).all()):
        raise EqvizError("the generator produced NaN or infinite pixels; the checkpoint's weights may be corrupt")
    return img
