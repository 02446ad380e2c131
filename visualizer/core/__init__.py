"""The session core: a session (latents, edits, input transform) and its rendering, and the image maths
every feature shares: conversions, resampling with masks (`resampling`), PSNR (`image_quality`), the
error colour scale."""
