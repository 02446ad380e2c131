"""FID/KID in the app: the Metrics panel's FID section runs compute_fid_kid as a background job with
progress and cancel, on the app's shared generator (built without a window; jobs run synchronously)."""
import dearpygui.dearpygui as dpg
import numpy as np
import pytest
from PIL import Image

from eqviz.app.fid_section import FidSection
from eqviz.metrics.fid.compute import compute_fid_kid
from fid_oracle import oracle_inception  # noqa: F401 (fixture)
from test_video_panels import FakeContext, dpg_context, overlay, sg2  # noqa: F401 (fixtures)


@pytest.fixture
def data(tmp_path):
    for i, img in enumerate(np.random.default_rng(8).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)):
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    return tmp_path


def run_fid(ctx, data, inception, samples):
    section = FidSection()
    section.build(ctx)
    for tag, value in [("fid_data", str(data)), ("fid_inception", str(inception)), ("fid_samples", samples)]:
        dpg.set_value(tag, value)
    dpg.get_item_callback("fid_run")()
    ctx.deliver()
    return section


def test_fid_runs_in_the_background_and_shows_its_result(dpg_context, sg2, data, oracle_inception, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    ctx = FakeContext(*sg2)
    section = run_fid(ctx, data, oracle_inception, samples=3)
    assert dpg.get_value("fid_progress") == 1.0 and overlay("fid_progress") == "done: 7/7"  # 4 real + 3 generated
    direct = compute_fid_kid(str(data), sg2[1], str(oracle_inception), num_samples=3, use_cache=False)
    assert section.result.protocol == {"fid": "fid3_full"}
    assert section.result.fid == pytest.approx(direct.fid, rel=1e-9)
    assert dpg.get_value("fid_result").startswith(f"FID fid3_full: {section.result.fid:.4f}")
    assert ctx.status == (f"fid3_full: FID {section.result.fid:.3f}", False)


def test_cancelled_fid_says_where_it_stopped_and_is_not_an_error(dpg_context, sg2, data, oracle_inception, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("EQVIZ_CACHE", str(tmp_path / "cache"))
    ctx = FakeContext(*sg2)
    ctx.cancel_after = 1
    section = run_fid(ctx, data, oracle_inception, samples=3)
    assert overlay("fid_progress") == "cancelled at 4 of 7" and ctx.status == ("FID/KID cancelled at 4 of 7", False)
    assert section.result is None and not any((tmp_path / "cache").rglob("*.npz"))


def test_without_data_the_status_line_says_what_to_choose(dpg_context, sg2):  # noqa: F811
    ctx = FakeContext(*sg2)
    FidSection().build(ctx)
    dpg.get_item_callback("fid_run")()
    assert ctx.status[1] and "real images" in ctx.status[0]


def shown_with_all_parents(tag) -> bool:
    item = dpg.get_alias_id(tag)
    while item:
        if not dpg.get_item_configuration(item)["show"]:
            return False
        item = dpg.get_item_parent(item)
    return True


def test_the_metrics_panel_offers_fid_for_stylegan2_where_eq_is_not_defined(dpg_context, sg2):  # noqa: F811
    from eqviz.app.panels.equivariance import EquivariancePanel

    ctx = FakeContext(*sg2)
    panel = EquivariancePanel()
    panel.build(ctx)
    panel.on_model_changed(ctx)
    assert not shown_with_all_parents("eq_run") and shown_with_all_parents("eq_sg2_note")
    assert shown_with_all_parents("fid_run") and shown_with_all_parents("fid_data")


def test_without_an_inception_file_the_public_one_is_fetched_and_a_bad_one_refused(dpg_context, sg2, data, monkeypatch, tmp_path):  # noqa: F811
    from file_server import FileServer, private_online_caches

    private_online_caches(monkeypatch, tmp_path)
    monkeypatch.delenv("EQVIZ_INCEPTION", raising=False)
    ctx = FakeContext(*sg2)
    with FileServer({"/m/weights-inception-2015-12-05-6726825d.pth": b"not the weights" * 1000}) as server:
        monkeypatch.setenv("EQVIZ_MIRROR", server.url("/m/"))
        run_fid(ctx, data, "", samples=3)
        assert [path for path, _ in server.requests] == ["/m/weights-inception-2015-12-05-6726825d.pth"]
    assert ctx.status[1] and "not the 6726825d" in ctx.status[0]
    assert not [p for p in (tmp_path / "cache" / "downloads").rglob("*") if p.is_file()]
