"""Media exporters: videos (MP4, GIF, PNG folders) of moving generators, their layouts and writers."""

__all__ = ["VideoResult", "VideoSpec", "render_video"]


def __getattr__(name):
    # The renderer pulls in torch; resolving it on first use lets the command line import the
    # video package's light modules (the writer's defaults) while it checks its arguments.
    if name not in __all__:
        raise AttributeError(f"module 'eqviz.video' has no attribute {name!r}")
    from eqviz.video import render

    return getattr(render, name)
