"""The session of a frame between two keyframes, where one session can hold it.

Between keyframes the view shows an interpolated W (`latents.frame_ws`), which in general no session
holds. One does in the cases an animator meets most: keyframes with the same latent (they differ in
pose or noise), and keyframes whose latents differ only in the seed and the edits' strengths. There
the in-between W is the first keyframe's A<->B interpolation towards the second's seed at the
segment's fraction (lerp in W, or slerp in Z for a segment in Z), with every edit scaled by its share:
truncation is linear in W and the same on both sides, so truncating the blend equals blending the
truncated ends. Anything else is refused in one sentence that says what differs.
"""
from __future__ import annotations

import dataclasses
import math

from eqviz.core.session import Session
from eqviz.errors import EqvizError
from eqviz.keyframes.animation import Animation
from eqviz.keyframes.timeline import Segment, session_at

SHARED_FIELDS = ("psi", "cutoff", "class_idx", "mix_seed", "mix_range", "mix_layers")  # equal at both ends


def same_latent(a: Session, b: Session) -> bool:
    return dataclasses.replace(a, checkpoint=None).latent_key() == dataclasses.replace(b, checkpoint=None).latent_key()


def blended_edits(a: Session, b: Session, s: float) -> list:
    """Edits adding (1 - s) of a's offsets and s of b's: one edit per direction, alphas summed."""
    merged: dict = {}
    for edits, share in ((a.edits, 1.0 - s), (b.edits, s)):
        for edit in edits:
            key = dataclasses.replace(edit, alpha=0.0)
            merged[key] = merged.get(key, 0.0) + share * edit.alpha
    return [dataclasses.replace(key, alpha=alpha) for key, alpha in merged.items()]


def session_between(animation: Animation, segment: Segment) -> Session:
    """The session whose W is the segment's point, at its pose (`session_at`); raises EqvizError naming
    the two keyframes and what differs when no session holds that W."""
    posed = session_at(animation, segment)
    if segment.exact is not None or segment.start == segment.end or segment.s == 0:
        return posed
    a, b = (animation.keyframes[k].session for k in (segment.start, segment.end))
    if same_latent(a, b):
        return posed
    pair = f"keyframes {segment.start + 1} and {segment.end + 1}"
    if a.seed_b is not None or b.seed_b is not None:
        raise EqvizError(f"the latent between {pair} is no one session: one of them interpolates A<->B")
    if a.w_path is not None or b.w_path is not None:
        raise EqvizError(f"the latent between {pair} is no one session: one of them is a W file")
    if b.latent_x != math.floor(b.latent_x) or b.latent_y != math.floor(b.latent_y):
        raise EqvizError(f"the latent between {pair} is no one session: keyframe {segment.end + 1} is between seeds")
    differing = [name for name in SHARED_FIELDS if getattr(a, name) != getattr(b, name)]
    if differing:
        raise EqvizError(f"the latent between {pair} is no one session: they differ in {', '.join(differing)}")
    space = animation.keyframes[segment.start].space
    return dataclasses.replace(posed, seed_b=b.seed, interp_t=float(segment.s), interp_space=space,
                               edits=blended_edits(a, b, segment.s))
