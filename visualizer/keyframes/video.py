"""Videos of a keyframe animation: `eqviz video CKPT --keyframes FILE.json` and the app's "Render video...".

The frames go through the same renderer, panels, encoders, progress and cancellation as every other
video (`eqviz.video.render`); only where each frame's W and pose come from differs. A frame at a
keyframe's time is synthesised on its own, exactly as `eqviz render --session` does, so it has the
same pixels; frames in between go in batches. 'random' noise is drawn from the held noise seed per
frame, as the app draws it.
"""
from __future__ import annotations

import dataclasses

import torch

from eqviz.core.input_transform import is_identity_pose, supports_input_transform
from eqviz.core.latents import class_label
from eqviz.core.rendering import seeded_noise, session_pose
from eqviz.errors import InvalidArgument
from eqviz.keyframes.animation import Animation
from eqviz.keyframes.latents import KeyframeLatents
from eqviz.keyframes.timeline import frame_times, pose_at, segment_at
from eqviz.video.render import (FrameSource, LaunchedBatch, Track, VideoResult, VideoSpec, latent_settings, load_generators,
                                render_video)


# VideoSpec settings the keyframes hold themselves (each keyframe's session, the keyframe times)
REPLACED_SETTINGS = ("motion", "seeds", "grid", "frames", "duration", "psi", "cutoff", "noise_mode", "class_idx",
                     "session", "edits")


@dataclasses.dataclass(frozen=True)
class KeyframeMotion:
    """What the frame renderer asks of a motion, answered for an animation."""
    moves_input: bool       # some keyframe has a translation or rotation
    changes_latent: bool    # W differs between frames (the error map then needs a reference per frame)


@dataclasses.dataclass
class KeyframeTrack(Track):
    latents: KeyframeLatents | None = None  # the keyframes' W on this track's generator


def check_keyframe_spec(spec: VideoSpec) -> None:
    """Refuses the settings a keyframe animation replaces, before anything is loaded."""
    unset = VideoSpec(checkpoints=spec.checkpoints, out=spec.out)
    replaced = [name for name in REPLACED_SETTINGS if getattr(spec, name) != getattr(unset, name)]
    if replaced:
        raise InvalidArgument(f"{replaced[0]} is set by the keyframes (their sessions and times set the latents, poses "
                              "and length); leave it unset.", replaced[0])


class KeyframeSource(FrameSource):
    """Frames of an animation at t = i / fps, one cell, one column per generator (side by side)."""

    def __init__(self, spec: VideoSpec, animation: Animation, generators=None):
        check_keyframe_spec(spec)
        self.spec, self.animation = spec, animation.validate()
        self.settings = latent_settings(spec)  # the noise mode changes per run of frames (`launch`)
        self.device = torch.device(spec.device)
        times = frame_times(animation, spec.fps)
        self.count = len(times)
        self.segments = [segment_at(animation, t) for t in times + [self.count / spec.fps]]
        self.poses = [pose_at(animation, segment) for segment in self.segments]
        self.motion = KeyframeMotion(moves_input=not all(is_identity_pose(p) for p in self.poses),
                                     changes_latent=len(animation.keyframes) > 1)
        named = generators if generators is not None else load_generators(spec.checkpoints, self.device)
        if self.motion.moves_input and not any(supports_input_transform(G) for _, G in named):
            moved = next(n for n, k in enumerate(animation.keyframes, start=1) if not is_identity_pose(session_pose(k.session)))
            raise InvalidArgument(f"keyframe {moved} is translated or rotated, but {named[0][0]} is a StyleGAN2 generator "
                                  "without an input transform; set the keyframes' translate and rotate to 0, or render "
                                  "it beside a StyleGAN3 checkpoint (it then moves in output space).", "keyframes")
        if (spec.untransform or spec.error_map) and not self.motion.moves_input:
            raise InvalidArgument("the untransformed and error-map panels show how a translation or rotation is undone; "
                                  "no keyframe of this animation is translated or rotated.", "untransform")
        self.cells = 1
        self.tracks = [self.make_track(name, G) for name, G in named]
        self.arrange(1, 1)

    def make_track(self, name: str, G) -> KeyframeTrack:
        latents = KeyframeLatents(G, self.animation, self.device).check()
        class_idx = self.animation.keyframes[0].session.class_idx
        return KeyframeTrack(G=G, name=name, output_space=self.motion.moves_input and not supports_input_transform(G),
                             keys=latents.key_ws(0).unsqueeze(0), c=class_label(G, class_idx, self.device), latents=latents)

    def latents(self, track: KeyframeTrack, indices) -> torch.Tensor:
        """ws [F, 1, num_ws, w_dim] of the frames."""
        return torch.stack([track.latents.frame_ws(self.segments[i]) for i in indices])

    def held(self, i: int):
        """The session whose noise frame i holds: the keyframe its segment starts from."""
        return self.animation.keyframes[self.segments[i].start].session

    def groups(self, indices) -> list[list[int]]:
        """Runs of frames synthesised together: a keyframe's frame and a 'random'-noise frame alone,
        the others batched while they share a noise mode."""
        runs = []
        for i in indices:
            alone = self.segments[i].exact is not None or self.held(i).noise_mode == "random"
            if runs and not alone and not runs[-1][1] and self.held(runs[-1][0][-1]).noise_mode == self.held(i).noise_mode:
                runs[-1][0].append(i)
            else:
                runs.append(([i], alone))
        return [run for run, _ in runs]

    @torch.no_grad()
    def launch(self, indices) -> LaunchedBatch:
        parts = []
        for run in self.groups(list(indices)):
            held = self.held(run[0])
            self.settings = {**self.settings, "noise_mode": held.noise_mode}  # what synthesize_frames draws with
            with seeded_noise(held, self.device):
                parts.append(super().launch(run))
        return joined(parts)


def joined(parts: list[LaunchedBatch]) -> LaunchedBatch:
    """One batch of the frames of several, in order (waits for a GPU's copies when there are several)."""
    if len(parts) == 1:
        return parts[0]
    for part in parts:
        if part.ready is not None:
            part.ready.synchronize()
    return LaunchedBatch(torch.cat([p.frames for p in parts]), torch.cat([p.extremes for p in parts]), None)


def render_keyframe_video(animation: Animation, spec: VideoSpec, progress=None, cancel=None, generators=None) -> VideoResult:
    """Renders `animation` into spec.out at spec.fps, one column per checkpoint of spec (side by side),
    with spec's size, panels, quality and overwrite rule; progress and cancel as `render_video`."""
    check_keyframe_spec(spec)
    animation.validate()
    return render_video(spec, progress=progress, cancel=cancel, generators=generators,
                        make_source=lambda s, named: KeyframeSource(s, animation, named))
