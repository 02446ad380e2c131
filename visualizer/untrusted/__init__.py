"""Reading files eqviz did not write: one way for every kind, bounded, one sentence on refusal.

`files` opens a path of a `FileKind` (regular files only, a size cap per kind); `archives` reads zip
members with their declared sizes checked before inflating; `arrays` reads .npy/.npz without pickle,
with shapes and dtypes checked before anything is allocated; `json_text` parses JSON with its depth,
numbers and strings bounded; `images` opens only the image formats eqviz means to read, with the
pixel count checked from the header; `messages` names what came out of a file briefly (short
values, paths, sizes). Torch weight files go through the checkpoint loader's gates
(`eqviz.networks.checkpoints.torch_archive`).
"""
