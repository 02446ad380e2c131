"""Media exporters: videos (MP4, GIF, PNG folders) of moving generators, their layouts and writers."""
from eqviz.video.render import VideoResult, VideoSpec, render_video

__all__ = ["VideoResult", "VideoSpec", "render_video"]
