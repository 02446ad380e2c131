"""eqviz's Inception features, Fréchet distance and KID against torch-fidelity's and pytorch-fid's own
outputs (golden/fid_oracles.*, made with both packages on random, input-dependent weights)."""
import numpy as np
import pytest
import scipy.linalg
import torch

from eqviz.metrics.fid import frechet_distance, kernel_inception_distance, load_inception
from eqviz.metrics.fid.frechet import covariance_factor
from fid_oracle import oracle_inception, oracle_npz  # noqa: F401 (fixtures)

FEATURE_BAR = 1e-4  # of the features' largest magnitude (the issue's bar)


@pytest.mark.parametrize("pipeline, oracle", [("tf", "features_tf"), ("pytorch-fid", "features_pytorchfid")])
@pytest.mark.parametrize("images", ["images_64", "images_100"])
def test_features_match_the_oracle_package(oracle_inception, oracle_npz, pipeline, oracle, images):
    net = load_inception(oracle_inception, pipeline=pipeline)
    with torch.no_grad():
        got = net(torch.from_numpy(oracle_npz[images]))
    want = oracle_npz[f"{oracle}_{images}"]
    assert got.dtype == torch.float64 and got.shape == want.shape
    assert np.abs(got.numpy() - want).max() <= FEATURE_BAR * np.abs(want).max()


def test_the_two_pipelines_give_different_features(oracle_inception, oracle_npz):
    """The choice is real: TF-1's resize and torch's differ far beyond the bar (up to 1.35 here)."""
    images = torch.from_numpy(oracle_npz["images_100"])
    with torch.no_grad():
        tf = load_inception(oracle_inception, pipeline="tf")(images).numpy()
    assert np.abs(tf - oracle_npz["features_pytorchfid_images_100"]).max() > 100 * FEATURE_BAR * np.abs(tf).max()


@pytest.mark.parametrize("case", ["full_rank", "rank_deficient"])
@pytest.mark.parametrize("package", ["pytorchfid", "torchfidelity"])
def test_frechet_distance_matches_both_packages(oracle_npz, case, package):
    stats = [oracle_npz[f"fd_{case}_{k}"] for k in ("mu1", "sigma1", "mu2", "sigma2")]
    want = float(oracle_npz[f"fd_{case}_{package}"])
    assert frechet_distance(*stats) == pytest.approx(want, rel=1e-6)


def test_frechet_distance_of_a_rank_deficient_distribution_to_itself_is_the_mean_shift(oracle_npz):
    """50 samples in 256-d: the product's square root has 200+ null directions, each of which a
    general square root leaves at ~1e-6; the symmetric one keeps the sum at rounding level."""
    sigma = oracle_npz["fd_rank_deficient_sigma1"]
    mu = oracle_npz["fd_rank_deficient_mu1"]
    shift = np.full_like(mu, 0.01)
    got = frechet_distance(mu, sigma, mu + shift, sigma)
    assert got == pytest.approx(shift @ shift, abs=1e-9 * np.trace(sigma))


def test_frechet_distance_matches_scipy_sqrtm_on_a_well_conditioned_case():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((500, 20)), rng.standard_normal((500, 20)) @ rng.standard_normal((20, 20)) * 0.3 + 0.2
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    textbook = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(textbook, rel=1e-9)


def test_kid_matches_torch_fidelity(oracle_npz):
    kid = kernel_inception_distance(oracle_npz["kid_f1"], oracle_npz["kid_f2"], num_subsets=10, subset_size=50, seed=123)
    assert kid.mean == pytest.approx(float(oracle_npz["kid_torchfidelity_mean"]), rel=1e-9)
    assert kid.std == pytest.approx(float(oracle_npz["kid_torchfidelity_std"]), rel=1e-9)


def test_kid_of_one_subset_is_the_textbook_unbiased_mmd():
    """Double sums written out pair by pair, diagonal excluded within each set."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((7, 4)), rng.standard_normal((7, 4)) + 0.5
    k = lambda u, v: (u @ v / 4 + 1) ** 3  # noqa: E731
    m = len(x)
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) * 2 / (m * m)
    got = kernel_inception_distance(x, y, num_subsets=1, subset_size=m, seed=0)
    assert got.mean == pytest.approx(within - across, rel=1e-12)
    assert got.std == 0.0


def symmetric_sqrt(sigma):
    """Textbook S^½ from the eigendecomposition (negative rounding eigenvalues set to zero)."""
    values, vectors = np.linalg.eigh(sigma)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


@pytest.mark.parametrize("case, rank", [("full_rank", 64), ("rank_deficient", 49)])
def test_the_pivoted_cholesky_factor_has_the_numerical_rank_and_the_same_distance(oracle_npz, case, rank):
    """256-d from 50 samples has rank 49; its factor is [256, 49] and still reproduces the covariance,
    and the distance equals the one through the textbook symmetric square root."""
    mu1, s1, mu2, s2 = (oracle_npz[f"fd_{case}_{k}"] for k in ("mu1", "sigma1", "mu2", "sigma2"))
    factor = covariance_factor(s1)
    assert factor.shape == (len(mu1), rank)
    assert np.abs(factor @ factor.T - s1).max() <= 1e-12 * np.abs(s1).max()
    assert frechet_distance(mu1, s1, mu2, s2, factor1=factor) == pytest.approx(
        frechet_distance(mu1, s1, mu2, s2, factor1=symmetric_sqrt(s1)), rel=1e-9)


def test_identical_images_have_zero_covariance_and_a_finite_distance():
    mu, zero = np.ones(8), np.zeros((8, 8))
    other = np.cov(np.random.default_rng(0).standard_normal((30, 8)), rowvar=False)
    assert frechet_distance(mu, zero, mu, other) == pytest.approx(np.trace(other), rel=1e-12)
