"""Image sources for FID (folders, dataset zips, generators), streamed statistics, the cache, and the
one-line refusals: empty folder, corrupt image, mixed sizes, wrong resolution, too few real images."""
import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from eqviz.errors import EqvizError, InvalidArgument
from eqviz.metrics.fid.compute import compute_fid_kid, match_resolutions
from eqviz.metrics.fid.frechet import frechet_distance
from eqviz.metrics.fid.inception import load_inception
from eqviz.metrics.fid.sources import GeneratorSamples, ImageData, ImageSourceError, format_count
from eqviz.metrics.fid.statistics import FeatureStatistics
from eqviz.networks import load_generator
from fid_oracle import oracle_inception  # noqa: F401 (fixture)


def random_images(n, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def write_folder(folder, images, nested=False):
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        path = folder / (f"{i % 2}/img{i:03d}.png" if nested else f"img{i:03d}.png")
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(img).save(path)
    return folder


def write_dataset_zip(path, images, labels):
    """As NVIDIA's dataset_tool.py writes: 00000/img00000000.png ..., dataset.json with [name, label] pairs."""
    names = [f"{i // 1000:05d}/img{i:08d}.png" for i in range(len(images))]
    with zipfile.ZipFile(path, "w") as z:
        for name, img in zip(names, images):
            with z.open(name, "w") as f:
                Image.fromarray(img).save(f, format="png")
        z.writestr("dataset.json", json.dumps({"labels": [[n, int(c)] for n, c in zip(names, labels)]}))
    return path


def test_a_folder_is_read_recursively_in_sorted_order(tmp_path):
    images = random_images(4)
    data = ImageData(write_folder(tmp_path / "d", images, nested=True))
    assert data.names == ["0/img000.png", "0/img002.png", "1/img001.png", "1/img003.png"]
    got = data.images([0, 2]).numpy()
    assert got.dtype == np.uint8 and got.shape == (2, 3, 16, 16)
    assert np.array_equal(got[1].transpose(1, 2, 0), images[1])


def test_grey_images_are_repeated_to_rgb(tmp_path):
    grey = np.random.default_rng(2).integers(0, 256, (8, 8), dtype=np.uint8)
    (tmp_path / "d").mkdir()
    Image.fromarray(grey).save(tmp_path / "d" / "g.png")
    got = ImageData(tmp_path / "d").images([0])[0].numpy()
    assert all(np.array_equal(got[c], grey) for c in range(3))


def test_a_dataset_tool_zip_gives_images_and_labels(tmp_path):
    images = random_images(3, seed=4)
    data = ImageData(write_dataset_zip(tmp_path / "ds.zip", images, labels=[2, 0, 1]))
    assert data.kind == "zip" and len(data) == 3 and data.native_resolution == (16, 16)
    assert data.labels.tolist() == [2, 0, 1]
    assert np.array_equal(data.images([2])[0].numpy().transpose(1, 2, 0), images[2])


def one_line(exc_type, call):
    with pytest.raises(exc_type) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


def test_an_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "holds no images" in one_line(ImageSourceError, lambda: ImageData(tmp_path / "empty"))


def test_a_corrupt_image_is_named(tmp_path):
    folder = write_folder(tmp_path / "d", random_images(2))
    (folder / "img001.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    data = ImageData(folder)
    assert "img001.png is not a readable PNG" in one_line(ImageSourceError, lambda: data.images([1]))


def test_images_of_different_sizes_are_refused(tmp_path):
    folder = write_folder(tmp_path / "d", random_images(1))
    Image.fromarray(random_images(1, size=20)[0]).save(folder / "img001.png")
    message = one_line(ImageSourceError, lambda: ImageData(folder).images([0, 1]))
    assert "20x20" in message and "16x16" in message


def test_a_zip_that_is_not_a_zip_is_refused(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"nope")
    assert "not a readable zip" in one_line(ImageSourceError, lambda: ImageData(tmp_path / "bad.zip"))


def open_descriptors():
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("labels", [b"[1", b'{"labels": [["img.png", 0]]}'], ids=["bad json", "unlabelled image"])
def test_a_refused_zip_is_closed(tmp_path, labels):
    path = tmp_path / "ds.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("dataset.json", labels)
        buffer = io.BytesIO()
        Image.fromarray(random_images(1)[0]).save(buffer, format="png")
        z.writestr("000.png", buffer.getvalue())
    before = open_descriptors()
    one_line(ImageSourceError, lambda: ImageData(path))
    assert open_descriptors() == before


@pytest.fixture(scope="module")
def sg3t(reference_dir):
    return load_generator(reference_dir / "pkl" / "sg3t_64.pkl")


def test_data_at_another_resolution_than_the_generator_is_refused_unless_resizing_is_asked(tmp_path, sg3t):
    data = ImageData(write_folder(tmp_path / "d", random_images(2, size=32)))
    gen = GeneratorSamples(sg3t, "sg3t_64")
    with pytest.raises(InvalidArgument) as info:
        match_resolutions(gen, data, resize_data=False)
    assert info.value.argument == "resize_data" and "32x32" in str(info.value) and "64x64" in str(info.value)
    match_resolutions(gen, data, resize_data=True)
    assert data.images([0]).shape == (1, 3, 64, 64)


def test_generated_samples_follow_nvidias_protocol_and_do_not_depend_on_the_batch(sg3t):
    gen = GeneratorSamples(sg3t, "sg3t_64", seed=7)
    together = gen.images([3, 5])
    alone = gen.images([5])
    z = torch.from_numpy(np.random.default_rng([7, 5]).standard_normal(sg3t.z_dim).astype(np.float32))[None]
    with torch.no_grad():
        want = (sg3t.synthesis(sg3t.mapping(z, torch.zeros(1, 0), truncation_psi=1), noise_mode="const") * 127.5 + 128)
    want = want.clamp(0, 255).to(torch.uint8)
    assert together.dtype == torch.uint8 and together.shape == (2, 3, 64, 64)
    assert (together[1].int() - alone[0].int()).abs().max() <= 1  # batch of 2 vs 1: float32 summation order
    assert torch.equal(alone, want)


def test_conditional_generators_draw_classes_from_the_real_labels(reference_dir):
    G = load_generator(reference_dir / "pkl" / "sg3t_64_cond.pkl")
    gen = GeneratorSamples(G, "cond", labels=np.array([3, 3, 3]))
    assert all(gen.draw(i)[1].tolist() == [0, 0, 0, 1, 0] for i in range(5))
    uniform = {int(np.argmax(GeneratorSamples(G, "cond").draw(i)[1])) for i in range(60)}
    assert uniform == set(range(G.c_dim))


def test_streamed_statistics_equal_numpy_mean_and_cov_for_any_batching():
    x = np.random.default_rng(3).standard_normal((50, 6)) * [1, 2, 3, 4, 5, 6] + 10
    one, many = FeatureStatistics(6, bootstrap_replicates=3), FeatureStatistics(6, bootstrap_replicates=3)
    one.add(torch.from_numpy(x), range(50))
    for start in range(0, 50, 7):
        many.add(torch.from_numpy(x[start : start + 7]), range(start, min(start + 7, 50)))
    mu, sigma = many.mean_covariance()
    assert np.allclose(mu, x.mean(0), rtol=1e-12) and np.allclose(sigma, np.cov(x, rowvar=False), rtol=1e-9)
    for b in range(3):
        assert np.allclose(one.replicate_mean_covariance(b)[1], many.replicate_mean_covariance(b)[1], rtol=1e-9)


def test_a_poisson_bootstrap_replicate_is_the_weighted_sample_covariance():
    x = np.random.default_rng(4).standard_normal((40, 3))
    stats = FeatureStatistics(3, bootstrap_replicates=2)
    stats.add(torch.from_numpy(x), range(40))
    w = np.stack([np.random.default_rng([20211018, i]).poisson(1.0, 2) for i in range(40)])[:, 1]
    mu, sigma = stats.replicate_mean_covariance(1)
    assert np.allclose(mu, np.average(x, axis=0, weights=w)) and np.allclose(sigma, np.cov(x, rowvar=False, fweights=w))


def test_protocol_counts_are_named_like_nvidias():
    assert [format_count(n) for n in (50000, 10000, 1000, 500)] == ["50k", "10k", "1k", "500"]


@pytest.fixture(scope="module")
def inception(oracle_inception):  # noqa: F811
    return load_inception(oracle_inception)


def test_folder_fid_equals_the_distance_of_directly_computed_features_and_is_cached(tmp_path, monkeypatch, inception):
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    a = write_folder(tmp_path / "a", random_images(4, size=32, seed=1))
    b = write_folder(tmp_path / "b", random_images(4, size=32, seed=2) // 2)
    first = compute_fid_kid(a, b, inception, metrics=("fid", "kid"), bootstrap_replicates=0, kid_subset_size=3, kid_subsets=2)
    with torch.no_grad():
        fa, fb = (inception(ImageData(p).images(range(4))).numpy() for p in (a, b))
    want = frechet_distance(fa.mean(0), np.cov(fa, rowvar=False), fb.mean(0), np.cov(fb, rowvar=False))
    assert first.fid == pytest.approx(want, rel=1e-6)
    assert first.protocol["fid"] == "fid_4_vs_4" and not first.sources["a"]["cached"]
    second = compute_fid_kid(a, b, inception, metrics=("fid", "kid"), bootstrap_replicates=0, kid_subset_size=3, kid_subsets=2)
    assert second.sources["a"]["cached"] and second.sources["b"]["cached"]
    assert second.fid == pytest.approx(first.fid, rel=1e-12) and second.kid == pytest.approx(first.kid, rel=1e-12)
    Image.fromarray(random_images(1, size=32, seed=9)[0]).save(a / "img000.png")  # new content, new key
    third = compute_fid_kid(a, b, inception, metrics=("fid",), bootstrap_replicates=0)
    assert not third.sources["a"]["cached"] and third.fid != pytest.approx(first.fid, rel=1e-6)


def test_fewer_real_images_than_asked_is_refused(tmp_path, inception):
    a = write_folder(tmp_path / "a", random_images(3))
    with pytest.raises(InvalidArgument) as info:
        compute_fid_kid(a, a, inception, num_real=5, use_cache=False)
    assert info.value.argument == "num_real" and "holds 3" in str(info.value)


def test_a_failed_run_writes_nothing_to_the_cache(tmp_path, monkeypatch, inception):
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    a = write_folder(tmp_path / "a", random_images(3))
    (a / "img002.png").write_bytes(b"broken")
    with pytest.raises(EqvizError, match="img002.png"):
        compute_fid_kid(a, a, inception, bootstrap_replicates=0)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))
