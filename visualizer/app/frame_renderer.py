"""State snapshot in, display-ready frame out: the app's rendering, with no threads and no UI.

`build_request` copies what a frame depends on out of the app state; `FrameRenderer.render` turns
it into a `RenderResult` (float32 RGBA ready for a raw texture, timings, an error sentence instead
of an exception). The render worker runs it on its thread; tests run it directly.
"""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from eqviz.errors import EqvizError, first_line
from eqviz.app.layer_view import channels_to_rgb, layer_stats, spectrum_rgb
from eqviz.app.state import AppState, ViewState
from eqviz.core.colormaps import error_colours
from eqviz.core.image_quality import psnr_db, squared_error_map
from eqviz.core.images import images_to_rgb8, rgba, unit_to_uint8
from eqviz.core.input_transform import IDENTITY_POSE, synthesize_posed
from eqviz.core.latents import session_ws
from eqviz.core.rendering import check_finite, seeded_noise, session_pose
from eqviz.core.resampling import untransform
from eqviz.core.session import Session


@dataclass(frozen=True)
class RenderRequest:
    stamp: int                 # increasing; a result older than the one on screen is dropped
    session: Session           # private copy: the UI keeps editing its own
    view: ViewState            # private copy
    submitted_at: float        # time.perf_counter() when the UI asked, for the latency figure
    timeline: object = None    # an eqviz.keyframes TimelineFrame: its interpolated W replaces the session's


@dataclass
class RenderResult:
    stamp: int
    submitted_at: float
    image: np.ndarray | None = None        # [H, W, 4] float32 in [0, 1], C-contiguous
    error_map: np.ndarray | None = None    # [H, W, 4] live equivariance error (when asked)
    error_psnr_db: float | None = None     # PSNR of that live error map
    picture: np.ndarray | None = None      # [H, W, C] uint8 of what is shown, for "save image"
    ws: np.ndarray | None = None           # [1, num_ws, w_dim] float32 the frame was made from
    layer_shape: tuple[int, ...] | None = None  # [C, H, W] of the viewed layer
    layer_stats: tuple[float, ...] | None = None  # mean, std, max |x| of all its channels, then of the shown ones
    timings_ms: dict = field(default_factory=dict)  # mapping / synthesis / post
    display_scale: int = 1                 # screen pixels per image pixel beyond the zoom (previews)
    error: str | None = None               # one sentence; the previous image stays on screen
    finished_at: float = 0.0


def build_request(state: AppState, stamp: int) -> RenderRequest:
    return RenderRequest(stamp=stamp, session=copy.deepcopy(state.session),
                         view=copy.deepcopy(state.view), submitted_at=time.perf_counter(), timeline=state.timeline_shown)


class _StopForward(Exception):
    """Raised from a forward hook once the viewed layer has run: the rest of synthesis is not needed."""


def image_to_rgb(img: torch.Tensor) -> np.ndarray:
    """Generator output [C, H, W] (about [-1, 1]) -> [H, W, 3] in [0, 1], NVIDIA's 8-bit rounding."""
    return images_to_rgb8(img if img.ndim == 4 else img[None])[0].cpu().numpy().astype(np.float32) / 255.0


class FrameRenderer:
    """Renders requests for one generator; caches ws and the untransformed reference frame."""

    def __init__(self, G: torch.nn.Module, device: str):
        self.G = G
        self.device = device
        self._ws_key = None
        self._ws = None
        self._reference_key = None
        self._reference = None
        self._timeline_latents = None  # eqviz.keyframes KeyframeLatents of the animation last shown

    def _sync(self) -> None:
        if str(self.device).startswith("cuda"):
            torch.cuda.synchronize(self.device)

    def _ws_for(self, session: Session) -> torch.Tensor:
        key = session.latent_key()
        if key != self._ws_key:
            self._ws, self._ws_key = session_ws(self.G, session, self.device), key
        return self._ws

    def _timeline_ws(self, frame) -> torch.Tensor:
        """The W of an animation's frame; the keyframes' W are computed once per animation."""
        from eqviz.keyframes.latents import KeyframeLatents

        if self._timeline_latents is None or self._timeline_latents.animation is not frame.animation:
            self._timeline_latents = KeyframeLatents(self.G, frame.animation, self.device)
        self._ws, self._ws_key = self._timeline_latents.frame_ws(frame.segment), ("timeline", frame)
        return self._ws

    def _synthesise(self, ws: torch.Tensor, session: Session, pose, stop_at: int | None = None) -> torch.Tensor:
        extra = {} if stop_at is None else {"stop_at": stop_at}
        with seeded_noise(session, self.device):
            return synthesize_posed(self.G, ws, pose, noise_mode=session.noise_mode, **extra)

    def preview_resolution(self, view: ViewState) -> int | None:
        """The lower resolution to stop synthesis at for this view, or None for the full image."""
        if view.preview_divisor <= 1:
            return None
        target = self.G.img_resolution // view.preview_divisor
        return target if target in getattr(self.G.synthesis, "preview_resolutions", ()) else None

    def _layer_output(self, ws: torch.Tensor, session: Session, layer: str) -> torch.Tensor:
        """The viewed layer's output [C, H, W]; the hook exists only during this call."""
        try:
            module = self.G.synthesis.get_submodule(layer)
        except AttributeError:
            raise EqvizError(f"this model has no layer {layer!r}; choose one from the layer list") from None
        captured = {}
        me = threading.get_ident()

        def hook(_module, _inputs, output):
            if threading.get_ident() != me:  # a background job sharing the generator: not our call
                return None
            if isinstance(output, (tuple, list)):  # StyleGAN2 blocks return (x, img)
                output = next(o for o in output if isinstance(o, torch.Tensor))
            captured["out"] = output
            raise _StopForward

        handle = module.register_forward_hook(hook)
        try:
            self._synthesise(ws, session, session_pose(session))
        except _StopForward:
            pass
        finally:
            handle.remove()
        if "out" not in captured:
            raise EqvizError(f"layer {layer!r} did not run during synthesis")
        return captured["out"][0]

    def _live_error(self, img: torch.Tensor, ws: torch.Tensor, session: Session):
        """Per-pixel squared error between the transformed frame mapped back and the untransformed
        frame (what EQ-T / EQ-R average), as a colour map, plus its PSNR."""
        key = (self._ws_key, session.noise_mode, session.noise_seed)
        if key != self._reference_key:
            self._reference = self._synthesise(ws, session, IDENTITY_POSE)
            self._reference_key = key
        back, mask = untransform(img, *session_pose(session))
        compared = mask[0, 0].to(back.dtype)  # [H, W]: the mask is one plane for every channel
        sq = squared_error_map(back, self._reference, compared)[0]
        psnr = float(psnr_db(float(sq.double().sum()), float(compared.double().sum())))
        colours = error_colours(sq) * (compared > 0).unsqueeze(-1)  # black outside the mask
        return rgba(colours.cpu().numpy()), psnr

    @torch.no_grad()
    def render(self, request: RenderRequest) -> RenderResult:
        result = RenderResult(stamp=request.stamp, submitted_at=request.submitted_at)
        session, view = request.session, request.view
        try:
            t0 = time.perf_counter()
            ws = self._ws_for(session) if request.timeline is None else self._timeline_ws(request.timeline)
            result.ws = ws.detach().float().cpu().numpy()
            self._sync()
            t1 = time.perf_counter()
            if view.layer != "output":
                shown = self._layer_output(ws, session, view.layer)
                check_finite(shown)
                self._sync()
                t2 = time.perf_counter()
                result.layer_shape = tuple(shown.shape)
                result.layer_stats = layer_stats(shown, view)
                rgb = spectrum_rgb(shown, view) if view.fft else channels_to_rgb(shown, view)
            else:
                stop_at = self.preview_resolution(view)
                img = check_finite(self._synthesise(ws, session, session_pose(session), stop_at))
                result.display_scale = self.G.img_resolution // stop_at if stop_at else 1
                self._sync()
                t2 = time.perf_counter()
                if view.live_error:
                    result.error_map, result.error_psnr_db = self._live_error(img, ws, session)
                if session.untransform:
                    img = untransform(img, *session_pose(session))[0]
                rgb = spectrum_rgb(img[0], view) if view.fft else image_to_rgb(img)
            result.image = rgba(rgb)
            result.picture = unit_to_uint8(rgb)
            t3 = time.perf_counter()
            result.timings_ms = {"mapping": 1e3 * (t1 - t0), "synthesis": 1e3 * (t2 - t1), "post": 1e3 * (t3 - t2)}
        except EqvizError as exc:
            result.error = str(exc)
        except torch.cuda.OutOfMemoryError:
            result.error = "the GPU ran out of memory rendering this model; close other GPU programs or use a smaller model"
        except MemoryError:
            result.error = "out of memory rendering this model; close other programs or use a smaller model"
        except RuntimeError as exc:
            # torch reports shape or device trouble inside a corrupt model this way; show it, keep running.
            result.error = f"rendering failed: {first_line(exc)}"
        result.finished_at = time.perf_counter()
        return result
