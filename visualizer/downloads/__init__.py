"""Checkpoints and metric weights by URL or published name: fetched once into eqviz's cache (or
found in NVIDIA's), resumed after a cut, checked, and handed on as a local path.

`catalogue` lists NVIDIA's published models; `sources` tells a path, a URL and a published name
apart without importing any network code (and holds `DownloadError`, the package's one error);
`transfer` moves bytes over HTTP (or from a mirror folder); `store` knows the
cache's layout and dnnlib's; `fetch` puts them together (`fetch`, `local_checkpoint`); `weights`
names the metric weights FID and LPIPS fetch when no file is given.
"""
