"""Editing an animation the way the app's Keyframes panel does, with no window: keyframes kept in
time order, a playhead, and recording a live performance into keyframes.

Everything here is plain data, so the panel stays a thin layer of widgets over it and the tests can
drive it directly.
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np

from eqviz.core.session import Session
from eqviz.errors import EqvizError
from eqviz.keyframes.animation import EASINGS, MAX_KEYFRAMES, MAX_SECONDS, SPACES, Animation, Keyframe
from eqviz.keyframes.timeline import TIME_TOLERANCE


@dataclasses.dataclass
class EditedKeyframe:
    keyframe: Keyframe
    thumbnail: np.ndarray | None = None   # [h, w, 3] uint8 of what the view showed, for the list


class KeyframeList:
    """The keyframes being edited, always in increasing time; one keyframe per time."""

    def __init__(self):
        self.items: list[EditedKeyframe] = []
        self.loop: float | None = None   # loop period in seconds, None = play once
        self.playhead = 0.0              # seconds; where K adds and where the view is
        self.revision = 0                # bumped on every change (the panel rebuilds its list)
        self._built: tuple[int, Animation] | None = None  # (revision, the animation of that revision)

    def __len__(self) -> int:
        return len(self.items)

    def changed(self) -> None:
        self.revision += 1

    def index_at(self, t: float) -> int | None:
        """The keyframe at time t, if one is there."""
        return next((k for k, item in enumerate(self.items) if abs(item.keyframe.time - t) <= TIME_TOLERANCE), None)

    def add(self, session: Session, thumbnail=None, t: float | None = None) -> int:
        """A keyframe of `session` at t (default: the playhead); one already there is replaced, keeping
        its easing. Returns its index."""
        t = self.playhead if t is None else float(t)
        if not 0 <= t <= MAX_SECONDS:
            raise EqvizError(f"a keyframe's time must be from 0 to {MAX_SECONDS:g} s, got {t:g}")
        session = copy.deepcopy(session).validate()
        at = self.index_at(t)
        if at is not None:
            old = self.items[at].keyframe
            self.items[at] = EditedKeyframe(dataclasses.replace(old, session=session), thumbnail)
        else:
            if len(self.items) >= MAX_KEYFRAMES:
                raise EqvizError(f"an animation holds at most {MAX_KEYFRAMES} keyframes; delete some first")
            self.items.append(EditedKeyframe(Keyframe(t, session), thumbnail))
            self.items.sort(key=lambda item: item.keyframe.time)
            at = self.index_at(t)
        self.fit_loop()
        self.changed()
        return at

    def remove(self, index: int) -> None:
        del self.items[index]
        self.fit_loop()
        self.changed()

    def retime(self, index: int, t: float) -> int:
        """Moves keyframe `index` to time t (the list re-sorts); returns its new index."""
        t = float(t)
        if not 0 <= t <= MAX_SECONDS:
            raise EqvizError(f"a keyframe's time must be from 0 to {MAX_SECONDS:g} s, got {t:g}")
        other = self.index_at(t)
        if other is not None and other != index:
            raise EqvizError(f"keyframe {other + 1} is already at {t:g} s; delete it or choose another time")
        item = self.items[index]
        item.keyframe = dataclasses.replace(item.keyframe, time=t)
        self.items.sort(key=lambda i: i.keyframe.time)
        self.fit_loop()
        self.changed()
        return self.items.index(item)

    def set_easing(self, index: int, easing: str) -> None:
        if easing not in EASINGS:
            raise EqvizError(f"easing must be one of {', '.join(EASINGS)}, got {easing!r}")
        item = self.items[index]
        item.keyframe = dataclasses.replace(item.keyframe, easing=easing)
        self.changed()

    def set_space(self, index: int, space: str) -> None:
        """'z' only between two whole seeds; otherwise refused and the keyframe stays as it was."""
        if space not in SPACES:
            raise EqvizError(f"space must be 'w' or 'z', got {space!r}")
        item = self.items[index]
        before, item.keyframe = item.keyframe, dataclasses.replace(item.keyframe, space=space)
        self.changed()
        try:
            self.animation()
        except EqvizError:
            item.keyframe = before
            self.changed()
            raise

    def set_loop(self, period: float | None) -> None:
        self.loop = None if period is None else float(period)
        self.fit_loop()
        self.changed()

    def fit_loop(self) -> None:
        """A loop's period stays after the last keyframe (moving keyframes later lengthens it)."""
        if self.loop is not None and self.items and self.loop <= self.items[-1].keyframe.time:
            self.loop = self.items[-1].keyframe.time + 1.0

    @property
    def duration(self) -> float:
        if not self.items:
            return 0.0
        return self.loop if self.loop is not None else self.items[-1].keyframe.time

    def animation(self) -> Animation:
        """The animation as it stands, built once per revision of this list (refused in one sentence
        when it cannot play)."""
        if self._built is not None and self._built[0] == self.revision:
            return self._built[1]
        if not self.items:
            raise EqvizError("there are no keyframes yet; add one first")
        loop = self.loop if len(self.items) > 1 else None
        animation = Animation(tuple(item.keyframe for item in self.items), loop).validate()
        self._built = (self.revision, animation)
        return animation

    def replace_with(self, animation: Animation) -> None:
        """Takes over a loaded animation (thumbnails come later)."""
        self.items = [EditedKeyframe(k) for k in animation.keyframes]
        self.loop = animation.loop
        self.playhead = 0.0
        self.changed()


class Recorder:
    """Records a live performance: every change of the state, at its time since recording began,
    becomes a keyframe (linear easing: the performance's own timing is the motion). A pause is kept
    as a pause: before a change that follows one, the unchanged state is recorded again at the last
    moment it was seen, so the frames in between hold it instead of drifting towards the change."""

    def __init__(self, start: float, clock: float):
        self.start = start      # animation time the recording begins at
        self.clock = clock      # the wall clock (seconds) it began at
        self.samples: list[tuple[float, Session, np.ndarray | None]] = []
        self._last = None       # the last recorded state, as compared (no view settings)
        self._seen = None       # animation time the last recorded state was last seen unchanged

    def time_of(self, clock: float) -> float:
        return self.start + (clock - self.clock)

    def sample(self, clock: float, session: Session, thumbnail=None) -> bool:
        """Records `session` at wall-clock time `clock` when it differs from the last one recorded (a
        repeat only notes that the state still holds); False once the recording holds all an
        animation may."""
        t = self.time_of(clock)
        if len(self.samples) + 3 > MAX_KEYFRAMES or t > MAX_SECONDS:  # room for a hold, the change, the end's hold
            return False
        state = session.to_dict()
        state.pop("view", None)  # display settings are not part of the performance
        if state == self._last:
            self._seen = t
            return True
        self.hold_until(self._seen)
        if self.samples and t - self.samples[-1][0] <= TIME_TOLERANCE:
            self.samples.pop()  # two changes within one tick: the later wins
        self.samples.append((t, copy.deepcopy(session), thumbnail))
        self._last, self._seen = state, None
        return True

    def still(self, clock: float) -> None:
        """Notes that the state recorded last is still the state at wall-clock time `clock`."""
        if self.samples:
            self._seen = self.time_of(clock)

    def hold_until(self, t: float | None) -> None:
        """Records the last state again at time t, if it held that long after it was recorded."""
        if t is not None and self.samples and t - self.samples[-1][0] > TIME_TOLERANCE:
            _, session, thumbnail = self.samples[-1]
            self.samples.append((t, copy.deepcopy(session), thumbnail))

    def stop(self, clock: float) -> None:
        """The recording ends at `clock`: the last state holds until then."""
        self.hold_until(min(self.time_of(clock), MAX_SECONDS))

    def finish(self, keyframes: KeyframeList) -> int:
        """Puts the recording into the list, replacing the keyframes inside its time span; returns
        how many keyframes it added."""
        if not self.samples:
            return 0
        first, last = self.samples[0][0], self.samples[-1][0]
        kept = [item for item in keyframes.items
                if not first - TIME_TOLERANCE <= item.keyframe.time <= last + TIME_TOLERANCE]
        recorded = [EditedKeyframe(Keyframe(t, session), thumbnail) for t, session, thumbnail in self.samples]
        if len(kept) + len(recorded) > MAX_KEYFRAMES:
            raise EqvizError(f"the recording and the keyframes outside it make more than {MAX_KEYFRAMES}; delete some first")
        keyframes.items = sorted(kept + recorded, key=lambda item: item.keyframe.time)
        keyframes.fit_loop()
        keyframes.changed()
        return len(recorded)
