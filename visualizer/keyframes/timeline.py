"""Where a time falls between keyframes, and every quantity that is not W there: pose and noise.

A time maps to a segment (keyframe i, the keyframe it leads to, eased fraction s). Translation moves
linearly, rotation the short way round unless the keyframes hold angles outside (-180, 180] (the app
never writes those, so a hand-written 0 -> 720 pair turns twice), the noise mode and seed are held
from the segment's start. A frame at a keyframe's time is that keyframe exactly (`Segment.exact`).
"""
from __future__ import annotations

import bisect
import dataclasses
import math

from eqviz.core.input_transform import wrapped_degrees
from eqviz.errors import InvalidArgument
from eqviz.keyframes.animation import Animation

TIME_TOLERANCE = 1e-6  # seconds: a frame this close to a keyframe's time is that keyframe


@dataclasses.dataclass(frozen=True)
class Segment:
    start: int          # index of the keyframe the segment leaves
    end: int            # index of the keyframe it leads to (== start on a hold past the ends)
    s: float            # eased fraction of the way, 0 at `start`
    exact: int | None   # the keyframe this time is (its session renders as it is), else None


@dataclasses.dataclass(frozen=True)
class TimelineFrame:
    """A point of an animation to show: the app's scrubber asks the render worker for it."""
    animation: Animation
    segment: Segment


# ---- Easing into the next keyframe: s(u) for the fraction u of the segment's time ------------------
def eased(easing: str, u: float) -> float:
    """linear: u; ease-in-out: smoothstep 3u^2 - 2u^3 (symmetric, 1/2 at the middle); hold: 0 until the next."""
    if easing == "ease-in-out":
        return u * u * (3.0 - 2.0 * u)
    if easing == "hold":
        return 0.0
    return u


def segment_at(animation: Animation, t: float) -> Segment:
    """The segment time t (seconds) falls in; a loop repeats every `loop` seconds."""
    keys, times = animation.keyframes, animation.times
    if animation.loop is not None:
        t = math.fmod(t, animation.loop)
        t = t + animation.loop if t < 0 else t
        if animation.loop - t <= TIME_TOLERANCE:
            t -= animation.loop  # the end of one period is the start of the next
    k = bisect.bisect_left(times, t - TIME_TOLERANCE)
    if k < len(times) and abs(times[k] - t) <= TIME_TOLERANCE:
        return Segment(k, k, 0.0, k)
    if animation.loop is not None and len(keys) > 1 and (t > times[-1] or t < times[0]):
        start_time = times[-1] if t > times[-1] else times[-1] - animation.loop
        length = times[0] + animation.loop - times[-1]
        return Segment(len(keys) - 1, 0, eased(keys[-1].easing, (t - start_time) / length), None)
    if k == 0:
        return Segment(0, 0, 0.0, None)
    if k == len(times):
        return Segment(k - 1, k - 1, 0.0, None)
    i = k - 1  # times[i] < t < times[i + 1]
    u = (t - times[i]) / (times[i + 1] - times[i])
    return Segment(i, i + 1, eased(keys[i].easing, u), None)


def is_short_way(a: float, b: float) -> bool:
    """Both angles in (-180, 180], where the app keeps them: the rotation between them goes the short way.
    An angle outside says how far to turn (0 -> 720 turns twice), and the segment turns as written."""
    return -180.0 < a <= 180.0 and -180.0 < b <= 180.0


def rotation_at(a: float, b: float, s: float) -> float:
    """Degrees a fraction s of the way from a to b. On the short way the angle stays in (-180, 180], so a
    keyframe added there keeps the next segment short too; written turns are followed as written."""
    if is_short_way(a, b):
        return wrapped_degrees(a + math.remainder(b - a, 360.0) * s)
    return a + (b - a) * s


def lerp(a: float, b: float, s: float) -> float:
    return a + (b - a) * s


def pose_at(animation: Animation, segment: Segment) -> tuple[tuple[float, float], float]:
    """(translate, rotate_deg) of the segment's point: the keyframe's own pose at a keyframe."""
    a = animation.keyframes[segment.start].session
    if segment.exact is not None or segment.start == segment.end:
        return (float(a.translate[0]), float(a.translate[1])), float(a.rotate_deg)
    b = animation.keyframes[segment.end].session
    translate = tuple(lerp(float(p), float(q), segment.s) for p, q in zip(a.translate, b.translate))
    return translate, rotation_at(float(a.rotate_deg), float(b.rotate_deg), segment.s)


def session_at(animation: Animation, segment: Segment):
    """A session showing the segment's point where a session can: the starting keyframe's session at
    the interpolated pose (its W comes from `latents.frame_ws`); the keyframe itself at a keyframe."""
    session = animation.keyframes[segment.start].session
    if segment.exact is not None:
        return session
    translate, rotate_deg = pose_at(animation, segment)
    return dataclasses.replace(session, translate=translate, rotate_deg=rotate_deg)


def frame_times(animation: Animation, fps: float) -> list[float]:
    """Frame i at t = i / fps: from 0 to the last keyframe's time inclusive, or over one loop period
    exclusive (the frame after the last would be the first)."""
    if not (math.isfinite(fps) and fps > 0):
        raise InvalidArgument(f"fps must be a positive number of frames per second, got {fps}.", "fps")
    if animation.loop is not None:
        count = math.ceil(animation.loop * fps - TIME_TOLERANCE * fps)
    else:
        count = math.floor(animation.keyframes[-1].time * fps + TIME_TOLERANCE * fps) + 1
    return [i / fps for i in range(max(count, 1))]
