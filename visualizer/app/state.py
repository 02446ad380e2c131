"""Everything the app's controls edit: the shareable `Session` plus view and animation settings.

Panels write here and nowhere else; `render_request.build_request` turns a snapshot of it into
what the render worker needs. Settings that change what a saved session renders live in the
`Session`; display-only ones (zoom, layer view, animation) live in `ViewState` / `AnimationState`
and travel in `session.view` so a saved session reopens the way it was left.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from eqviz.app.lifecycle import same_checkpoint
from eqviz.core.input_transform import wrapped_degrees
from eqviz.core.latents import SEED_GRID_STEP
from eqviz.core.seeds import MAX_SEED
from eqviz.core.session import Session

CHANNEL_MODES = ("rgb", "single")      # three consecutive channels as RGB, or one as grey
NORMALISATIONS = ("per-frame", "fixed")  # min/max of this frame, or NVIDIA's [-1, 1] range
PREVIEW_DIVISORS = (1, 2, 4, 8)     # full resolution, or the generator's image at 1/2, 1/4, 1/8 of it
DRAG_SPEEDS = {"slow": 0.25, "normal": 1.0, "fast": 4.0}  # translate / rotate drag multipliers
# UI frames per second while anything moves. 24 keeps the UI fluid and leaves the cores to synthesis:
# under a software GL rasterizer (Xvfb + llvmpipe) a UI frame costs ~9 ms of CPU, 60 fps half a core.
FPS_LIMITS = (12, 24, 30, 60, 120)
DEFAULT_FPS_LIMIT = 24


@dataclass
class ViewState:
    """How the rendered frame is shown (never changes the generator's output)."""
    layer: str = "output"          # "output" or the name of a synthesis layer to look inside
    channel_mode: str = "rgb"
    channel: int = 0               # first shown channel of a layer
    normalisation: str = "per-frame"
    brightness_db: float = 0.0     # layer views: gain of 10^(dB/20) on what is shown
    fft: bool = False              # show the power spectrum of the image / layer instead of the image
    fft_range_db: float = 50.0     # the spectrum is shown from -range (black) to +range dB (white)
    fft_beta: float = 8.0          # Kaiser window beta applied before the FFT (0: no window)
    live_error: bool = False       # show the per-pixel equivariance error beside the image
    fit: bool = True               # zoom to fit the window (refits on resize); off: `zoom` holds
    zoom: float = 1.0              # display pixels per image pixel when not fitting
    pixel_exact: bool = False      # round zoom to whole numbers (1:1 at zoom 1), the fit included
    drag_speed: str = "normal"     # one of DRAG_SPEEDS: how far a translate / rotate drag moves
    fps_limit: int = DEFAULT_FPS_LIMIT  # one of FPS_LIMITS: UI frame rate while anything moves
    vsync: bool = True             # wait for the display's refresh when drawing (Dear PyGui's default)
    preview_divisor: int = 1       # render the output at resolution / divisor where the generator can
                                   # (StyleGAN2 'skip': the image before its last blocks), shown at full size

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ViewState":
        known = {f.name for f in dataclasses.fields(cls)}
        view = cls(**{k: v for k, v in data.items() if k in known})
        if view.channel_mode not in CHANNEL_MODES:
            view.channel_mode = "rgb"
        if view.normalisation not in NORMALISATIONS:
            view.normalisation = "per-frame"
        view.fft_range_db = min(max(float(view.fft_range_db), 1.0), 200.0)
        view.fft_beta = min(max(float(view.fft_beta), 0.0), 50.0)
        if view.fps_limit not in FPS_LIMITS:
            view.fps_limit = DEFAULT_FPS_LIMIT
        if view.drag_speed not in DRAG_SPEEDS:
            view.drag_speed = "normal"
        view.zoom = min(max(float(view.zoom), 0.125), 32.0)
        view.preview_divisor = view.preview_divisor if view.preview_divisor in PREVIEW_DIVISORS else 1
        return view


@dataclass
class AnimationState:
    """Continuous motion driven by the UI clock (advanced once per UI frame)."""
    latent: bool = False
    latent_speed: float = 0.25      # seeds per second along the seed axis
    translate: bool = False
    translate_speed: float = 0.1    # turns per second around the circle
    translate_radius: float = 0.1   # circle radius in image widths
    rotate: bool = False
    rotate_speed: float = 20.0      # degrees per second
    noise: bool = False             # StyleGAN2: step the noise seed (new 'random' noise) over time
    noise_speed: float = 4.0        # noise seeds per second
    noise_position: float = 0.0     # where the noise animation is; the noise seed is its floor
    round_to_pixels: bool = False   # snap translations to whole output pixels
    phase: float = 0.0              # current position on the translation circle, in turns
    paused: tuple[bool, bool, bool, bool] | None = None  # (latent, translate, rotate, noise) stopped by Space

    @property
    def any_running(self) -> bool:
        return self.latent or self.translate or self.rotate or self.noise


@dataclass
class AppState:
    session: Session = field(default_factory=Session)
    view: ViewState = field(default_factory=ViewState)
    anim: AnimationState = field(default_factory=AnimationState)
    resolution: int = 0             # output size of the loaded generator (0 = none loaded)
    browse_dir: str | None = None   # folder whose checkpoints the Checkpoint panel lists
    revision: int = 0               # bumped on every edit so panels know to re-read values
    timeline: object | None = None  # Keyframes panel: the eqviz.keyframes TimelineFrame shown, while
    timeline_revision: int = -1     # the state is still at this revision (any other edit ends it)

    def touch(self) -> None:
        self.revision += 1

    def show_timeline(self, frame, session: Session) -> None:
        """Show a keyframe animation's frame: `session` (its pose, noise and settings) with the
        animation's interpolated W, until anything else edits the state."""
        self.session = session
        self.touch()
        self.timeline, self.timeline_revision = frame, self.revision

    @property
    def timeline_shown(self):
        """The animation frame on show, or None once the state was edited after it."""
        return self.timeline if self.timeline_revision == self.revision else None

    # -- edits shared by sliders, keys and the animation -------------------------------------
    def set_translate(self, tx: float, ty: float) -> None:
        """Set the translation, snapped to whole pixels when that option is on."""
        if self.anim.round_to_pixels and self.resolution > 0:
            tx = round(tx * self.resolution) / self.resolution
            ty = round(ty * self.resolution) / self.resolution
        self.session.translate = (float(tx), float(ty))
        self.touch()

    def set_rotate(self, degrees: float) -> None:
        """Set the rotation, wrapped to (-180, 180] so sliders and keys agree."""
        self.session.rotate_deg = wrapped_degrees(degrees)
        self.touch()

    def set_seed(self, seed: int) -> None:
        """A typed seed is the grid point (seed mod 100, seed div 100), so it round-trips."""
        y, x = divmod(int(seed), SEED_GRID_STEP)
        self.session.latent_x, self.session.latent_y = float(x), float(y)
        self.touch()

    def step_seed(self, direction: int) -> None:
        """-/+: the previous / next whole seed from the position now shown (6.98 -> 7 or 6, not
        from whatever the seed box held before an animation or drag moved on)."""
        x = self.session.latent_x
        x = math.floor(x) + 1 if direction > 0 else math.ceil(x) - 1
        y = round(self.session.latent_y)
        if not 0 <= x + SEED_GRID_STEP * y <= MAX_SEED:  # NVIDIA's seeds end at 0 and 2^32 - 1
            return
        self.session.latent_x, self.session.latent_y = float(x), float(y)
        self.touch()

    def snap_seed(self) -> None:
        """Snap a fractional grid position to the nearest whole seed."""
        self.session.latent_x = float(round(self.session.latent_x))
        self.session.latent_y = float(round(self.session.latent_y))
        self.touch()

    def reset_transform(self) -> None:
        self.anim.translate = self.anim.rotate = False
        self.anim.phase = 0.0
        self.set_translate(0.0, 0.0)
        self.set_rotate(0.0)

    def toggle_animation(self) -> None:
        """Space: stop whatever moves, or resume what was stopped (the seed walk when nothing was)."""
        anim = self.anim
        if anim.any_running:
            anim.paused = (anim.latent, anim.translate, anim.rotate, anim.noise)
            anim.latent = anim.translate = anim.rotate = anim.noise = False
        elif anim.paused and any(anim.paused):
            anim.latent, anim.translate, anim.rotate, anim.noise = anim.paused
        else:
            anim.latent = True
        self.touch()

    def advance(self, dt: float) -> bool:
        """Move every running animation by `dt` seconds; True when something changed (the noise
        animation changes the frame only when its seed does)."""
        if not self.anim.any_running or dt <= 0:
            return False
        if self.anim.noise:
            self.anim.noise_position += self.anim.noise_speed * dt
            seed = math.floor(self.anim.noise_position)
            if seed == self.session.noise_seed and not (self.anim.latent or self.anim.translate or self.anim.rotate):
                return False
            self.session.noise_seed = seed
        if self.anim.latent:
            self.session.latent_x += self.anim.latent_speed * dt
        if self.anim.translate:
            self.anim.phase = (self.anim.phase + self.anim.translate_speed * dt) % 1.0
            angle = 2 * math.pi * self.anim.phase
            r = self.anim.translate_radius
            self.set_translate(r * math.cos(angle), r * math.sin(angle))
        if self.anim.rotate:
            self.set_rotate(self.session.rotate_deg + self.anim.rotate_speed * dt)
        self.touch()
        return True

    # -- the model lifecycle (eqviz.app.lifecycle) -------------------------------------------
    def forget_model(self, new_checkpoint: str) -> list[str]:
        """Another model loaded: drop the session's per-model state (a loaded W, direction edits),
        unless the session names that very checkpoint (a loaded session brings its own). Returns
        what was dropped, for the status line."""
        if same_checkpoint(self.session.checkpoint, new_checkpoint):
            return []
        dropped = []
        if self.session.w_path is not None:
            self.session.w_path = None
            dropped.append("the loaded W")
        if self.session.edits:
            self.session.edits = []
            dropped.append("the direction edits")
        if dropped:
            self.touch()
        return dropped

    # -- session round trip -------------------------------------------------------------------
    def session_for_saving(self) -> Session:
        """The session with the view settings folded into its free-form `view` dict."""
        saved = dataclasses.replace(self.session)
        saved.view = {**dict(self.session.view or {}), **self.view.to_dict(),
                      "round_to_pixels": self.anim.round_to_pixels}
        return saved

    def adopt_session(self, session: Session) -> None:
        """Take over a loaded session, including the view settings it carries."""
        self.session = session
        view = dict(session.view or {})
        self.view = ViewState.from_dict(view)
        self.anim = AnimationState(round_to_pixels=bool(view.get("round_to_pixels", False)))
        self.touch()
