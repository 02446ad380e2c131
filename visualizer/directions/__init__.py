"""Editing directions in W: SeFa and GANSpace for any loaded generator, imported InterFaceGAN-style
vectors, their files, and edits that move ws along them (renders, videos, sheets and the app).

`layers` names which ws index each style affine reads; `sefa` and `ganspace` find directions;
`files` reads and writes them; `edits` applies them to ws; `sheet` renders GANSpace's figure.
"""
