"""`eqviz compare` on the three 64-px reference checkpoints (StyleGAN2, StyleGAN3-T, StyleGAN3-R) with a
tiny image folder: the three files, every requested metric per checkpoint, EQ not defined for StyleGAN2,
and a report that a real headless browser renders with its images and plots."""
import base64
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from eqviz.cli.main import main
from eqviz.report import CompareSpec, run_comparison, write_comparison
from eqviz.report.study import EQ_UNDEFINED
from fid_oracle import oracle_inception  # noqa: F401 (fixture)

MODELS = {"sg2_64": "StyleGAN2", "sg3t_64": "StyleGAN3-T", "sg3r_64": "StyleGAN3-R"}
METRICS = ("fid", "kid", "eqt_int", "eqt_frac", "eqr")


@pytest.fixture(scope="module")
def report_dir(reference_dir, oracle_inception, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("compare")
    data = root / "data"
    data.mkdir()
    for i, img in enumerate(np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)):
        Image.fromarray(img).save(data / f"{i}.png")
    spec = CompareSpec(checkpoints=[str(reference_dir / "pkl" / f"{m}.pkl") for m in MODELS], data=str(data),
                       metrics=METRICS, num_samples=4, inception=str(oracle_inception), bootstrap_replicates=2,
                       seeds=(0, 1), exposure_samples=4, rotation_steps=4, batch_size=4)
    mp = pytest.MonkeyPatch()
    mp.setenv("EQVIZ_CACHE", str(root / "cache"))
    try:
        write_comparison(run_comparison(spec), root / "out")
    finally:
        mp.undo()
    return root / "out"


@pytest.fixture(scope="module")
def direct(report_dir, reference_dir, oracle_inception, tmp_path_factory):  # noqa: F811
    """The same measurements made by calling the metrics directly, per checkpoint (no cache)."""
    from eqviz.core.input_transform import supports_input_transform
    from eqviz.metrics.equivariance import compute_equivariance
    from eqviz.metrics.fid.compute import compute_fid_kid
    from eqviz.networks import load_generator

    out = {}
    for name in MODELS:
        G = load_generator(str(reference_dir / "pkl" / f"{name}.pkl"))
        fid_kid = compute_fid_kid(str(report_dir.parent / "data"), G, str(oracle_inception), metrics=("fid", "kid"),
                                  num_samples=4, batch_size=4, seed=0, bootstrap_replicates=2, use_cache=False)
        eq = (compute_equivariance(G, metrics=METRICS[2:], num_samples=4, batch_size=4, seed=0)
              if supports_input_transform(G) else None)
        out[name] = fid_kid, eq
    return out


def test_results_json_has_every_metric_for_every_checkpoint(report_dir, direct):
    results = json.loads((report_dir / "results.json").read_text())
    assert [c["name"] for c in results["checkpoints"]] == list(MODELS)
    for c in results["checkpoints"]:
        assert c["kind"] == MODELS[c["name"]] and c["resolution"] == 64
        assert set(c["metrics"]) == set(METRICS)
        fid_kid, _ = direct[c["name"]]
        assert c["metrics"]["fid"]["protocol"] == "fid4_full"
        assert c["metrics"]["fid"]["value"] == pytest.approx(fid_kid.fid, rel=1e-9)
        assert c["metrics"]["fid"]["bootstrap_std"] == (None if fid_kid.fid_std is None else pytest.approx(fid_kid.fid_std, rel=1e-9))
        assert c["metrics"]["kid"]["protocol"] == "kid4_full"
        assert c["metrics"]["kid"]["value"] == pytest.approx(fid_kid.kid, rel=1e-9, abs=1e-12)
        assert c["fid_kid"]["sources"]["a"]["images"] == 5 and c["fid_kid"]["sources"]["b"]["images"] == 4
    assert results["settings"]["num_samples"] == 4 and results["eqviz_version"]


def test_eq_is_not_defined_for_stylegan2_with_the_reason(report_dir, direct):
    sg2, sg3t, sg3r = json.loads((report_dir / "results.json").read_text())["checkpoints"]
    for m in ("eqt_int", "eqt_frac", "eqr"):
        assert sg2["metrics"][m] == {"defined": False, "reason": EQ_UNDEFINED}
        for sg3 in (sg3t, sg3r):
            _, eq = direct[sg3["name"]]
            assert sg3["metrics"][m]["defined"]
            assert sg3["metrics"][m]["psnr_db"] == pytest.approx(eq.psnr_db[m], rel=1e-12)
            assert sg3["metrics"][m]["interval_95_db"] == pytest.approx(list(eq.interval_db[m]), rel=1e-12)


def test_real_statistics_are_computed_once_and_reused(report_dir):
    cached = [c["fid_kid"]["sources"]["a"]["cached"] for c in json.loads((report_dir / "results.json").read_text())["checkpoints"]]
    assert cached == [False, True, True]


def test_the_markdown_table_has_a_row_per_checkpoint(report_dir):
    lines = (report_dir / "table.md").read_text().splitlines()
    assert lines[0].startswith("| checkpoint | kind | resolution | FID (fid4_full) | KID (kid4_full) | EQ-T (dB, 4 samples)")
    sg2_row = next(line for line in lines if line.startswith("| sg2_64 |"))
    assert sg2_row.count("not defined") == 3 and "StyleGAN2" in sg2_row
    assert any(EQ_UNDEFINED in line for line in lines)


def embedded_images(page: str) -> list:
    return [Image.open(io.BytesIO(base64.b64decode(uri))) for uri in re.findall(r"src=['\"]data:image/png;base64,([^'\"]+)", page)]


def test_the_html_is_self_contained(report_dir):
    page = (report_dir / "report.html").read_text()
    assert not re.search(r"(src|href)=['\"](?!data:)", page)  # nothing outside the file
    images = embedded_images(page)
    # per checkpoint: samples, long exposures, rotation strip; plus the distribution plot and the heatmaps
    assert len(images) == 3 * 3 + 2
    samples = images[0]
    assert samples.size == (2 * 64 + 2, 64)  # two seeds side by side with a 2-pixel gap


def best_match(screen: np.ndarray, template: np.ndarray) -> tuple[int, int]:
    """Top-left (y, x) where `template` [h, w, 3] differs least (sum of squares) from `screen` [H, W, 3]:
    the squared difference expanded into window energy - 2 x correlation, both by FFT."""
    (H, W), (h, w) = screen.shape[:2], template.shape[:2]
    ssd = np.full((H - h + 1, W - w + 1), float((template ** 2).sum()))
    window = np.fft.rfft2(np.ones((h, w)), (H, W)).conj()
    for c in range(3):
        s = screen[..., c]
        corr = np.fft.irfft2(np.fft.rfft2(s) * np.fft.rfft2(template[..., c], (H, W)).conj(), (H, W))
        energy = np.fft.irfft2(np.fft.rfft2(s * s) * window, (H, W))
        ssd += (energy - 2 * corr)[:H - h + 1, :W - w + 1]
    y, x = np.unravel_index(np.argmin(ssd), ssd.shape)
    return int(y), int(x)


@pytest.mark.slow
def test_the_report_renders_in_a_headless_browser(report_dir, tmp_path):
    """Every image the page embeds is on the screenshot, pixel for pixel at its displayed scale (strips are
    shown 1.5x with nearest-neighbour scaling: each source pixel's centre lands on that pixel), in page order."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless browser (apt-get install -y chromium)")
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--force-device-scale-factor=1",
                    f"--screenshot={shot}", "--window-size=1280,3200", (report_dir / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    screen = np.asarray(Image.open(shot).convert("RGB")).astype(np.float64)
    page = (report_dir / "report.html").read_text()
    tops = []
    for strip, uri in re.findall(r"<img( class=.strip.)? src=['\"]data:image/png;base64,([^'\"]+)", page):
        image = Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB")
        scale = 1.5 if strip else 1.0  # img.strip's CSS height: 96 px for 64-px images
        shown = image.resize((round(image.width * scale), round(image.height * scale)), Image.NEAREST)
        y, x = best_match(screen, np.asarray(shown, dtype=np.float64))
        centre = lambda n: np.floor((np.arange(n) + 0.5) * scale).astype(int)  # noqa: E731
        on_screen = screen[y + centre(image.height)][:, x + centre(image.width)]
        wrong = (np.abs(on_screen - np.asarray(image, dtype=np.float64)).max(axis=2) > 3).mean()
        assert wrong < 0.01, f"an embedded {image.size} image is not on the screenshot ({wrong:.0%} of it differs)"
        tops.append(y)
    assert len(tops) == 3 * 3 + 2 and tops == sorted(tops)


def test_compare_refuses_to_replace_an_earlier_report_before_any_work(report_dir, capsys, reference_dir):
    assert main(["compare", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--out", str(report_dir), "--metrics", "eqr"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "already exists" in err


def test_compare_asks_for_data_when_fid_is_requested(tmp_path, capsys, reference_dir):
    assert main(["compare", str(reference_dir / "pkl" / "sg3t_64.pkl"), "--out", str(tmp_path / "o"), "--metrics", "fid"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data" in err
