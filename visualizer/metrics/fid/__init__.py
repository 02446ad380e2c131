"""FID and KID with our own Inception-v3 (TF 2015-12-05 graph), comparable with published numbers."""
from eqviz.metrics.fid.frechet import frechet_distance
from eqviz.metrics.fid.inception import load_inception
from eqviz.metrics.fid.kid import kernel_inception_distance

__all__ = ["load_inception", "frechet_distance", "kernel_inception_distance"]
