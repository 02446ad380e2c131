"""The session core: a session's latents, input transform and rendering, and image conversions."""
