"""Checkpoint loading and its safety: reading foreign files (NVIDIA and TensorFlow pickles, eqviz
safetensors) into the generators of `eqviz.networks` without running anything they carry.

The gates run in order: `checkpoint_file` (a regular file of bounded size), `pickle_scan` (opcodes
checked before anything is built), `safe_unpickler` (an allow-list of globals, NVIDIA's persistent
objects mapped by name), `torch_storage` (tensor storage bounds); then `nvidia_pickle`, `tf_pickle`
and `safe_format` turn what was read into a config and weights, and `loading` /
`discriminator_loading` build the networks with strict key and shape checks. `torch_archive` reads
plain `torch.save` weight files (the Inception and LPIPS weights) through the same gates.
"""
