"""The keyframe file: `{"format": "eqviz-keyframes/1", "keyframes": [...], "loop": ...}`.

Each keyframe is a time in seconds, an eqviz session exactly as the app saves it, the easing into
the next keyframe and the space its latent travels in. The file is read as untrusted input: its
size, the number of keyframes and the times are bounded, and every refusal is one sentence naming
the keyframe at fault.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math

from eqviz.atomic_io import write_text
from eqviz.core.session import MAX_TEXT, Session
from eqviz.errors import EqvizError
from eqviz.untrusted.messages import short_text
from eqviz.untrusted.files import FileKind
from eqviz.untrusted.json_text import load_json

KEYFRAMES_FORMAT = "eqviz-keyframes/1"
EASINGS = ("linear", "ease-in-out", "hold")  # how a segment moves from its keyframe to the next
SPACES = ("w", "z")                          # lerp the final W, or slerp Z between two plain seeds
MAX_FILE_BYTES = 64_000_000  # a recorded minute with edits is a few MB; anything far larger is not ours
KEYFRAME_FILE = FileKind("keyframe file", MAX_FILE_BYTES, "pass a keyframe .json saved by eqviz")
MAX_KEYFRAMES = 20_000      # ten minutes recorded at 30 changes a second
MAX_SECONDS = 3600.0        # the longest animation (an hour)
KEYFRAME_FIELDS = ("time", "session", "easing", "space")


@dataclasses.dataclass(frozen=True)
class Keyframe:
    time: float                # seconds from the start
    session: Session           # the whole state shown at that time
    easing: str = "linear"     # into the next keyframe: linear, ease-in-out or hold
    space: str = "w"           # 'z': slerp in Z to the next keyframe (both plain seeds)

    def to_dict(self) -> dict:
        return {"time": self.time, "easing": self.easing, "space": self.space, "session": self.session.to_dict()}


def is_plain_seed(session: Session) -> bool:
    """A whole seed with nothing blended in: the only latent that has one Z to slerp."""
    return (session.w_path is None and session.seed_b is None and session.mix_seed is None
            and session.latent_x == math.floor(session.latent_x) and session.latent_y == math.floor(session.latent_y))


@dataclasses.dataclass(frozen=True)
class Animation:
    keyframes: tuple[Keyframe, ...]   # in increasing time
    loop: float | None = None         # period in seconds: the last keyframe leads back to the first at
                                      # loop + the first's time; None = play once and stop on the last

    @property
    def duration(self) -> float:
        """Seconds the animation covers: the loop period, or the last keyframe's time."""
        return self.loop if self.loop is not None else self.keyframes[-1].time

    @functools.cached_property
    def times(self) -> tuple[float, ...]:
        return tuple(k.time for k in self.keyframes)

    def validate(self) -> "Animation":
        if not self.keyframes:
            raise EqvizError("the animation has no keyframes; add at least one")
        if len(self.keyframes) > MAX_KEYFRAMES:
            raise EqvizError(f"the animation has {len(self.keyframes)} keyframes, more than the {MAX_KEYFRAMES} eqviz reads")
        previous = None
        for n, key in enumerate(self.keyframes, start=1):
            if not (isinstance(key.time, float) and math.isfinite(key.time) and 0 <= key.time <= MAX_SECONDS):
                raise EqvizError(f"keyframe {n}: time must be a number of seconds from 0 to {MAX_SECONDS:g}, got {key.time!r}")
            if previous is not None and key.time <= previous:
                raise EqvizError(f"keyframe {n}: time {key.time:g} s is not after keyframe {n - 1}'s {previous:g} s; "
                                 "keyframes must be in increasing time")
            if key.easing not in EASINGS:
                raise EqvizError(f"keyframe {n}: easing must be one of {', '.join(EASINGS)}, got {short_text(key.easing)}")
            if key.space not in SPACES:
                raise EqvizError(f"keyframe {n}: space must be 'w' (lerp W) or 'z' (slerp Z), got {short_text(key.space)}")
            previous = key.time
        for n, key in enumerate(self.keyframes, start=1):
            following = self.next_index(n - 1)
            if key.space == "z" and following is not None:
                other = self.keyframes[following].session
                if not (is_plain_seed(key.session) and is_plain_seed(other)):
                    raise EqvizError(f"keyframe {n}: slerp in Z needs this keyframe and the next to be whole seeds "
                                     "without W file, A<->B or style mixing; use space 'w'")
                if key.session.class_idx != other.class_idx:
                    raise EqvizError(f"keyframe {n}: slerp in Z needs the same class as the next keyframe; use space 'w'")
        if self.loop is not None:
            first, last = self.keyframes[0].time, self.keyframes[-1].time
            if not (isinstance(self.loop, float) and math.isfinite(self.loop) and last < self.loop <= MAX_SECONDS + first):
                raise EqvizError(f"loop must be a period in seconds after the last keyframe ({last:g} s) "
                                 f"and at most {MAX_SECONDS:g} s, got {self.loop!r}")
        return self

    def next_index(self, i: int) -> int | None:
        """The keyframe segment i leads to (the first again in a loop), None after the last."""
        if i + 1 < len(self.keyframes):
            return i + 1
        return 0 if self.loop is not None and len(self.keyframes) > 1 else None

    def to_dict(self) -> dict:
        return {"format": KEYFRAMES_FORMAT, "loop": self.loop, "keyframes": [k.to_dict() for k in self.keyframes]}

    @classmethod
    def from_dict(cls, data) -> "Animation":
        if not isinstance(data, dict) or data.get("format") != KEYFRAMES_FORMAT:
            raise EqvizError(f"not an eqviz keyframe file (expected \"format\": \"{KEYFRAMES_FORMAT}\")")
        unknown = sorted(set(data) - {"format", "keyframes", "loop"})
        if unknown:
            raise EqvizError(f"unknown keyframe-file field(s) {', '.join(str(k)[:40] for k in unknown[:5])}; was it written by a newer eqviz?")
        items = data.get("keyframes")
        if not isinstance(items, list) or not items:
            raise EqvizError("the keyframe file has no keyframes (\"keyframes\": [{\"time\": ..., \"session\": {...}}, ...])")
        if len(items) > MAX_KEYFRAMES:
            raise EqvizError(f"the keyframe file has {len(items)} keyframes, more than the {MAX_KEYFRAMES} eqviz reads")
        keyframes = tuple(keyframe_from_dict(item, n) for n, item in enumerate(items, start=1))
        return cls(keyframes, loop_period(data.get("loop"), keyframes)).validate()

    @classmethod
    def load(cls, path) -> "Animation":
        return cls.from_dict(load_json(path, KEYFRAME_FILE, max_string=MAX_TEXT))

    def save(self, path, overwrite: bool = True) -> None:
        write_text(path, json.dumps(self.validate().to_dict(), indent=1) + "\n", overwrite=overwrite)


def keyframe_from_dict(item, n: int) -> Keyframe:
    """Keyframe n (counting from 1) of a file; a refusal names it."""
    if not isinstance(item, dict):
        raise EqvizError(f"keyframe {n} is not an object with time and session")
    unknown = sorted(set(item) - set(KEYFRAME_FIELDS))
    if unknown:
        raise EqvizError(f"keyframe {n} has unknown field(s) {', '.join(str(k)[:40] for k in unknown[:5])}; it takes {', '.join(KEYFRAME_FIELDS)}")
    if "time" not in item or "session" not in item:
        raise EqvizError(f"keyframe {n} needs a time (seconds) and a session")
    time = item["time"]
    if isinstance(time, bool) or not isinstance(time, (int, float)):
        raise EqvizError(f"keyframe {n}: time must be a number of seconds, got {short_text(time)}")
    try:
        session = Session.from_dict(item["session"])
    except EqvizError as exc:
        raise EqvizError(f"keyframe {n}: {exc}") from None
    return Keyframe(time=float(time), session=session, easing=item.get("easing", "linear"), space=item.get("space", "w"))


def loop_period(value, keyframes) -> float | None:
    """The loop's period: a number of seconds, or true for the last keyframe's time plus its mean gap."""
    if value is None or value is False:
        return None
    if value is True:
        times = [k.time for k in keyframes]
        gap = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 1.0
        return times[-1] + gap
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EqvizError(f"loop must be true, false or a period in seconds, got {short_text(value)}")
    return float(value)
