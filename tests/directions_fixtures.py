"""Fixtures of the direction tests (CLI, video, sheet): the small StyleGAN3-T checkpoint, as a path and loaded.
A test module imports both names (pytest finds fixtures among a module's globals)."""
import pytest

from eqviz.networks import load_generator


@pytest.fixture(scope="module")
def sg3t(reference_dir):
    return str(reference_dir / "pkl" / "sg3t_64.pkl")


@pytest.fixture(scope="module")
def G(sg3t):
    return load_generator(sg3t)
