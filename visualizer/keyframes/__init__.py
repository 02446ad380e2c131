"""Keyframe animation: sessions set at times, interpolated per quantity, rendered as videos.

`animation` holds the file format (`eqviz-keyframes/1`), `timeline` where a time falls between
keyframes and the pose there, `latents` the W of every frame, `video` the renderer behind
`eqviz video --keyframes` and the app's "Render video...", `between` the session of an in-between
frame (where one exists), `editing` the keyframe list, the playhead and recording a live performance.
"""
