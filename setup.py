"""Installs the design's top-level folders as one namespace, `eqviz`, finding sub-packages itself."""
from setuptools import find_packages, setup

# Import name -> folder in the checkout.
ROOTS = {
    "eqviz": "visualizer",
    "eqviz.networks": "networks",
    "eqviz.cuda_ops": "cuda_ops",
    "eqviz.assets": "assets",
}

# Folders of data files only (no __init__.py), installed as packages so setuptools knows of them.
DATA_PACKAGES = ["eqviz.cuda_ops.kernels"]

packages = list(DATA_PACKAGES)
for name, folder in ROOTS.items():
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=ROOTS)
