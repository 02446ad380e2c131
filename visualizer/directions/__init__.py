"""Editing directions in W: SeFa and GANSpace for any loaded generator, imported InterFaceGAN-style
vectors, their files, and the edits along them (renders, videos, sheets and the app apply them
through `eqviz.core.edits`).

`layers` names which ws index each style affine reads; `sefa` and `ganspace` find directions;
`files` reads and writes them; `edits` makes an edit from one of them; `sheet` renders GANSpace's figure;
`cache` keeps computed directions per model in eqviz's cache (the app reopens a model's at once).
"""
