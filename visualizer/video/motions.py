"""Motion paths for videos: per frame, an input-transform pose and a point on a looping latent walk.

Frame i of n sits at phase t = i / n, so every periodic motion (a whole number of turns, a circle,
a latent walk) loops seamlessly: the frame after the last would be the first.

Without torch at import (the splines take whatever tensors they are given), so `eqviz video`
checks its motion and length while it reads its arguments.
"""
import dataclasses
import math

from eqviz.errors import InvalidArgument

MOTION_KINDS = ("rotate", "translate", "walk", "edit")
TRANSLATE_PATHS = ("circle", "line")
WALK_SPACES = ("w", "z")


@dataclasses.dataclass(frozen=True)
class Motion:
    kinds: tuple[str, ...] = ("rotate",)  # any of rotate / translate / walk, combined
    turns: float = 1.0                    # rotate: full turns over the whole video
    radius: float = 0.1                   # translate: circle radius, or half the line length (image-size units)
    path: str = "circle"                  # translate: 'circle' (loops) or 'line' (from -radius to +radius)
    angle_deg: float = 0.0                # translate: direction of a line, degrees counter-clockwise from +x
    walk_space: str = "w"                 # walk: 'w' periodic Catmull-Rom spline in W, or 'z' slerp in Z
    base_translate: tuple[float, float] = (0.0, 0.0)  # pose the motion starts from (e.g. a saved session)
    base_rotate_deg: float = 0.0
    sweeps: tuple = ()                    # edit: eqviz.directions Edits swung through alpha sin(2 pi t) (alpha = amplitude)

    def __post_init__(self):
        unknown = [k for k in self.kinds if k not in MOTION_KINDS]
        if unknown or not self.kinds:
            raise InvalidArgument(f"unknown motion {','.join(unknown) or '(none)'}; use rotate, translate, walk, edit or a comma-separated combination such as walk,rotate.", "motion")
        if self.sweeps and "edit" not in self.kinds:
            raise InvalidArgument("directions to swing were given, but the motion has no edit; add edit to the motion.", "motion")
        if self.path not in TRANSLATE_PATHS:
            raise InvalidArgument(f"unknown translation path '{self.path}'; use circle or line.", "path")
        if self.walk_space not in WALK_SPACES:
            raise InvalidArgument(f"unknown walk space '{self.walk_space}'; use w (spline in W) or z (slerp in Z).", "walk_space")
        for name in ("turns", "radius", "angle_deg", "base_rotate_deg"):
            if not math.isfinite(getattr(self, name)):
                raise InvalidArgument(f"motion setting {name} must be a finite number, got {getattr(self, name)}.", name)

    @property
    def walks(self) -> bool:
        return "walk" in self.kinds

    @property
    def changes_latent(self) -> bool:
        """True when frames differ in W (a walk or an edit sweep), not only in pose."""
        return self.walks or bool(self.sweeps)

    @property
    def moves_input(self) -> bool:
        """True when the motion (or its starting pose) needs an input transform."""
        has_base = self.base_translate != (0.0, 0.0) or self.base_rotate_deg != 0.0
        return "rotate" in self.kinds or "translate" in self.kinds or has_base


def parse_motion(text: str) -> tuple[str, ...]:
    """'walk,rotate' -> ('walk', 'rotate'); duplicates dropped, order kept."""
    kinds = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    Motion(kinds=kinds)  # validates
    return kinds


def sweep_amount(i: int, n: int) -> float:
    """The edit sweep's factor at frame i of n: sin(2 pi i / n), one loop from 0 up, down and back."""
    return math.sin(2 * math.pi * i / n)


# ---- Input-transform pose of frame i of n: (translate (tx, ty), rotate_deg) -------------------------
def pose(motion: Motion, i: int, n: int) -> tuple[tuple[float, float], float]:
    t = i / n
    tx, ty = motion.base_translate
    rotate_deg = motion.base_rotate_deg
    if "rotate" in motion.kinds:
        rotate_deg += 360.0 * motion.turns * t
    if "translate" in motion.kinds:
        if motion.path == "circle":
            tx += motion.radius * math.cos(2 * math.pi * t)
            ty += motion.radius * math.sin(2 * math.pi * t)
        else:
            s = -1.0 + 2.0 * (i / (n - 1) if n > 1 else 0.5)  # a line runs end to end, it does not loop
            a = math.radians(motion.angle_deg)
            tx += motion.radius * s * math.cos(a)
            ty -= motion.radius * s * math.sin(a)  # rows grow downwards; positive angles point up
    return (tx, ty), rotate_deg


# ---- Periodic Catmull-Rom spline through K keyframes at phase t in [0, 1) --------------------------
# p(f) = 1/2 [2 P1 + (P2 - P0) f + (2 P0 - 5 P1 + 4 P2 - P3) f^2 + (3 P1 - P0 - 3 P2 + P3) f^3]
# with neighbours taken modulo K: C1-continuous, passes through every keyframe, closes the loop.
def catmull_rom_weights(f: float) -> tuple[float, float, float, float]:
    f2, f3 = f * f, f * f * f
    return (
        0.5 * (-f + 2 * f2 - f3),
        0.5 * (2 - 5 * f2 + 3 * f3),
        0.5 * (f + 4 * f2 - 3 * f3),
        0.5 * (-f2 + f3),
    )


def catmull_rom_loop(keys, t: float):
    """keys [K, ...] tensor -> the looping spline's value at phase t (weights sum to 1, so truncation commutes)."""
    k = keys.shape[0]
    u = (t % 1.0) * k
    j = int(math.floor(u))
    weights = catmull_rom_weights(u - j)
    return sum(w * keys[(j + d) % k] for w, d in zip(weights, (-1, 0, 1, 2)))


def slerp_loop(zs, t: float):
    """zs [K, z_dim] tensor -> slerp between consecutive keyframes (the last back to the first) at phase t."""
    from eqviz.core.latents import slerp

    k = zs.shape[0]
    u = (t % 1.0) * k
    j = int(math.floor(u))
    return slerp(zs[j : j + 1], zs[(j + 1) % k : (j + 1) % k + 1], u - j)


def frame_count(frames: int | None, duration: float | None, fps: float, default_seconds: float = 4.0) -> int:
    """Frames from `frames`, or `duration` x `fps` (not both)."""
    if frames is not None and duration is not None:
        raise InvalidArgument("give either frames or duration, not both.", "frames")
    if frames is None:
        seconds = default_seconds if duration is None else duration
        if not seconds > 0:
            raise InvalidArgument(f"duration must be positive, got {seconds}.", "duration")
        frames = int(round(seconds * fps))
    if frames < 1:
        raise InvalidArgument(f"a video needs at least one frame, got {frames}.", "frames")
    return int(frames)
