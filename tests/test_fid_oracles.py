"""eqviz's Inception features, Fréchet distance and KID against torch-fidelity's and pytorch-fid's own
outputs (golden/fid_oracles.*, made with both packages on random, input-dependent weights)."""
import numpy as np
import pytest
import scipy.linalg
import torch

from eqviz.metrics.fid import frechet_distance, kernel_inception_distance, load_inception
from eqviz.metrics.fid.frechet import covariance_factor, psd_sqrt
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


def test_cholesky_and_symmetric_square_root_factors_give_the_same_distance(oracle_npz):
    """The cheap Cholesky path (full rank) and the eigendecomposition path agree; a rank-deficient
    covariance is routed to the eigendecomposition, whose null directions stay exactly null."""
    mu1, s1, mu2, s2 = (oracle_npz[f"fd_full_rank_{k}"] for k in ("mu1", "sigma1", "mu2", "sigma2"))
    cholesky = covariance_factor(s1)
    assert np.array_equal(cholesky, np.tril(cholesky))
    assert frechet_distance(mu1, s1, mu2, s2, factor1=cholesky) == pytest.approx(
        frechet_distance(mu1, s1, mu2, s2, factor1=psd_sqrt(s1)), rel=1e-12)
    deficient = covariance_factor(oracle_npz["fd_rank_deficient_sigma1"])
    assert np.allclose(deficient, deficient.T)
