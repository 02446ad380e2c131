"""W of every frame of an animation, for one generator.

Each keyframe's final W (seed grid, W file, A<->B, mixing, class, truncation and edits: `session_ws`)
is computed once; between keyframes W moves linearly, so psi and cutoff change through the truncated
W and an edit's alpha changes linearly. A segment in Z slerps the two seeds' Z, maps it, and blends
the two keyframes' truncations and edits by the same fraction. At a keyframe the frame's W is that
keyframe's own, bit for bit.
"""
from __future__ import annotations

import collections

import torch

from eqviz.core.latents import class_label, lerp, session_ws, slerp, truncate, z_from_seed
from eqviz.core.edits import edit_offsets
from eqviz.errors import EqvizError
from eqviz.keyframes.animation import Animation
from eqviz.keyframes.timeline import Segment

CACHED_KEYFRAMES = 64  # keyframes whose W stay computed (a frame needs two)


class KeyframeLatents:
    """The keyframes' W (and, for segments in Z, their Z and edit offsets) on one generator, each
    computed when a frame first needs it and kept while recent: a recording of thousands of keyframes
    costs neither a long wait nor memory for all of them."""

    def __init__(self, G, animation: Animation, device="cpu"):
        self.G, self.animation, self.device = G, animation, device
        self._ws = collections.OrderedDict()  # keyframe index -> ws [1, num_ws, w_dim], most recent last
        self._z = {}  # keyframe index -> (z [1, z_dim], edit offsets [num_ws, w_dim]) for segments in Z

    def key_ws(self, k: int) -> torch.Tensor:
        """ws [1, num_ws, w_dim] of keyframe k: `session_ws` of its session (a refusal names the keyframe)."""
        if k in self._ws:
            self._ws.move_to_end(k)
            return self._ws[k]
        try:
            ws = session_ws(self.G, self.animation.keyframes[k].session, self.device)
        except EqvizError as exc:
            raise EqvizError(f"keyframe {k + 1}: {exc}") from None
        self._ws[k] = ws
        if len(self._ws) > CACHED_KEYFRAMES:
            self._ws.popitem(last=False)
        return ws

    def check(self) -> "KeyframeLatents":
        """Computes every keyframe's W once, so a keyframe this model cannot show is refused before a
        video starts rather than halfway through it."""
        for k in range(len(self.animation.keyframes)):
            self.key_ws(k)
        return self

    def _z_of(self, k: int):
        if k not in self._z:
            session = self.animation.keyframes[k].session
            z = torch.from_numpy(z_from_seed(session.seed, self.G.z_dim)).to(self.device)
            self._z[k] = z, edit_offsets(session.edits, self.G.num_ws, self.G.w_dim, self.device)
        return self._z[k]

    @torch.no_grad()
    def frame_ws(self, segment: Segment) -> torch.Tensor:
        """ws [1, num_ws, w_dim] at the segment's point."""
        if segment.exact is not None or segment.start == segment.end or segment.s == 0:
            return self.key_ws(segment.start)
        a, b = (self.animation.keyframes[k] for k in (segment.start, segment.end))
        if a.space != "z":
            return lerp(self.key_ws(segment.start), self.key_ws(segment.end), segment.s)
        (za, offset_a), (zb, offset_b) = self._z_of(segment.start), self._z_of(segment.end)
        raw = self.G.mapping(slerp(za, zb, segment.s).float(), class_label(self.G, a.session.class_idx, self.device))
        ends = [truncate(self.G, raw, key.session.psi, key.session.cutoff) for key in (a, b)]
        return lerp(ends[0], ends[1], segment.s) + lerp(offset_a, offset_b, segment.s)
