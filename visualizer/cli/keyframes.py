"""`eqviz video CHECKPOINT... --keyframes FILE.json`: the keyframe half of `eqviz video`."""
from eqviz.errors import EqvizError

# Flags of `eqviz video` that keyframes replace, and the value each has when not given.
REPLACED_FLAGS = (("motion", "rotate"), ("seeds", None), ("grid", None), ("frames", None), ("duration", None),
                  ("psi", None), ("cutoff", None), ("noise_mode", None), ("class_idx", None), ("edit", None),
                  ("session", None), ("w", None), ("turns", 1.0), ("radius", 0.1), ("path", "circle"),
                  ("angle", 0.0), ("walk_space", "w"), ("strength", 3.0))


def check_flags(args) -> None:
    """Refuses flags whose settings the keyframes hold, naming the first one given."""
    for name, unset in REPLACED_FLAGS:
        if getattr(args, name) != unset:
            flag = {"class_idx": "--class"}.get(name, "--" + name.replace("_", "-"))
            raise EqvizError(f"--keyframes: the keyframes set the motion, latents, truncation and length; drop {flag}")


def render_keyframes(args, progress):
    from eqviz.keyframes.animation import Animation
    from eqviz.keyframes.video import render_keyframe_video
    from eqviz.video.render import VideoSpec

    check_flags(args)
    animation = Animation.load(args.keyframes)
    spec = VideoSpec(checkpoints=list(args.checkpoints), out=args.out, fps=args.fps, size=args.size,
                     untransform=args.untransform, error_map=args.error_map, labels=args.labels, crf=args.crf,
                     batch=args.batch, device=args.device, overwrite=args.overwrite)
    return render_keyframe_video(animation, spec, progress=progress)
