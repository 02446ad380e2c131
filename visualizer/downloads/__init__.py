"""Checkpoints and metric weights by URL or published name: fetched once into eqviz's cache (or
found in NVIDIA's), resumed after a cut, checked, and handed on as a local path.

`catalogue` lists NVIDIA's published models; `transfer` moves bytes over HTTP; `store` knows the
cache's layout and dnnlib's; `fetch` puts them together (`fetch`, `local_checkpoint`); `weights`
names the metric weights FID and LPIPS fetch when no file is given.
"""
