"""The Keyframes panel in the real app window (Xvfb in CI): keys add and play, the scrubber shows the
frame the video renders, save / load, render and record."""
import numpy as np
import pytest
from PIL import Image

from app_driver import NEEDS_DISPLAY, NEEDS_XDOTOOL, click, fire, focus_window, running_app, send, settle, step_for, step_until

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY, NEEDS_XDOTOOL]


@pytest.fixture(scope="module")
def app(reference_dir):
    with running_app(reference_dir / "pkl" / "sg3t_64.pkl") as app:
        yield app


def panel(app):
    from eqviz.app.panels.keyframes import KeyframesPanel
    return next(p for p in app.panels if isinstance(p, KeyframesPanel))


def set_open(app, is_open):
    import dearpygui.dearpygui as dpg
    dpg.set_value(panel(app).header, is_open)
    settle(app)


def press(app, key):
    send(app, "key", key)
    settle(app)


def test_keys_add_keyframes_and_the_scrubber_shows_the_video_frame(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.keyframes.video import KeyframeSource
    from eqviz.video.render import VideoSpec

    keyframes = panel(app)
    window = focus_window(app)
    set_open(app, True)
    press(app, "k")                                   # keyframe 1: seed 2 at 0 s
    fire("kf_time", 1.0)
    send(app, "key", "shift+q")                       # rotate 10 degrees with the keyboard
    app.state.session.latent_x = 5.0
    app.state.touch()
    app.request_render()
    settle(app)
    press(app, "k")                                   # keyframe 2: seed 5, 10 degrees at 1 s
    fire("kf_time", 2.0)
    app.state.set_translate(0.1, 0.05)
    app.request_render()
    settle(app)
    press(app, "k")                                   # keyframe 3 at 2 s
    keys = keyframes.keys
    assert [item.keyframe.time for item in keys.items] == [0.0, 1.0, 2.0]
    assert keys.items[1].keyframe.session.rotate_deg == 10.0 and keys.items[1].keyframe.session.latent_x == 5.0
    from eqviz.app.panels.keyframes import thumbnail
    from eqviz.core.images import to_uint8
    from eqviz.core.rendering import render_session
    first = render_session(app.generator(), keys.items[0].keyframe.session)
    assert np.array_equal(keys.items[0].thumbnail, thumbnail(to_uint8(first)))  # what the view showed, small
    assert all(item.thumbnail is not None for item in keys.items)

    (x, y), (w, h) = dpg.get_item_rect_min("kf_time"), dpg.get_item_rect_size("kf_time")
    click(app, window, int(x + 0.25 * w), int(y + h / 2))  # a real click on the scrubber: about 1 s of 0..4 s
    settle(app)
    assert abs(keys.playhead - 1.0) < 0.2 and app.state.timeline_shown is not None

    fire("kf_time", 0.5)                              # between keyframes 1 and 2
    settle(app)
    scrubbed = np.array(app.last_result.picture)
    source = KeyframeSource(VideoSpec(checkpoints=["m"], out="unused.mp4", fps=2), keyframes.animation(),
                            [("m", app.generator())])
    [frame] = source.render([1])
    assert np.array_equal(scrubbed, frame)
    assert app.state.session.rotate_deg == 5.0

    press(app, "End")
    assert keys.playhead == 2.0 and app.state.session.translate == (0.1, 0.05)
    press(app, "Home")
    assert keys.playhead == 0.0 and app.state.session.latent_x == 2.0

    send(app, "key", "space")                         # plays while the panel is open
    assert keyframes.playing and not app.state.anim.any_running
    step_for(app, 0.5)
    assert 0.2 < keys.playhead < 2.0
    send(app, "key", "space")
    assert not keyframes.playing
    step_for(app, 2.5)                                # Space again plays on to the end, then stops
    send(app, "key", "space")
    step_until(app, lambda: not keyframes.playing, timeout=10)
    assert keys.playhead == 2.0 and dpg.get_value("kf_playback").startswith(("playing at 24 fps", "showing "))

    set_open(app, False)
    send(app, "key", "space")                         # closed panel: Space animates as before
    assert app.state.anim.any_running and not keyframes.playing
    send(app, "key", "space")
    assert not app.state.anim.any_running


def test_save_load_render_matches_the_scrubber(app, tmp_path, reference_dir):
    import dearpygui.dearpygui as dpg
    from eqviz.keyframes.animation import Animation

    keyframes = panel(app)
    assert len(keyframes.keys) == 3
    dpg.set_value("kf_file", str(tmp_path / "kf.json"))
    fire("kf_save")
    saved = Animation.load(tmp_path / "kf.json")
    assert [k.time for k in saved.keyframes] == [0.0, 1.0, 2.0]

    fire("kf_row_2_delete")
    assert len(keyframes.keys) == 2
    fire("kf_load")
    step_until(app, lambda: keyframes._thumbnail_job is None)
    assert keyframes.animation() == saved and all(item.thumbnail is not None for item in keyframes.keys.items)

    fire("kf_row_2_time", 0.5)                        # typed time: keyframe 3 moves before keyframe 2
    assert [i.keyframe.time for i in keyframes.keys.items] == [0.0, 0.5, 1.0] and keyframes.selected == 1
    fire("kf_row_1_time", 2.0)
    assert [i.keyframe.time for i in keyframes.keys.items] == [0.0, 1.0, 2.0]
    fire("kf_row_1", True)                            # a click on a number jumps there
    assert keyframes.keys.playhead == 1.0 and app.state.session.latent_x == 5.0
    fire("kf_row_1_easing", "hold")
    assert keyframes.keys.items[1].keyframe.easing == "hold"
    fire("kf_row_1_easing", "linear")
    fire("kf_time", 0.5)
    settle(app)
    scrubbed = np.array(app.last_result.picture)
    dpg.set_value("kf_out", str(tmp_path / "frames"))
    dpg.set_value("kf_video_fps", 2.0)
    fire("kf_render")
    step_until(app, lambda: keyframes.job is None)
    assert "wrote" in app.status[0] and "5 frames" in app.status[0]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "frames" / "frame_000001.png")), scrubbed)

    keyframes.compare.add(str(reference_dir / "pkl" / "sg3r_64.pkl"))  # side by side with the same keyframes
    dpg.set_value("kf_out", str(tmp_path / "side"))
    fire("kf_render")
    step_until(app, lambda: keyframes.job is None)
    keyframes.compare.clear()
    side = np.asarray(Image.open(tmp_path / "side" / "frame_000001.png"))
    assert side.shape[1] == 2 * 64 + 2 and np.array_equal(side[-64:, :64], scrubbed)


def test_record_turns_a_performance_into_keyframes(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.keyframes.animation import Animation

    keyframes = panel(app)
    fire("kf_time", 3.0)
    fire("kf_record")
    for degrees in (20, 30, 40, 50):
        app.state.set_rotate(degrees)
        app.request_render()
        step_for(app, 0.1)
    fire("kf_record")
    keys = keyframes.keys
    recorded = [item.keyframe for item in keys.items if item.keyframe.time >= 3.0]
    assert [k.session.rotate_deg for k in recorded] == [10.0, 20.0, 30.0, 40.0, 50.0]  # the start, then each change
    assert recorded[0].time == 3.0 and recorded[-1].time > 3.3
    assert "recorded" in app.status[0]
    dpg.set_value("kf_file", str(tmp_path / "performance.json"))
    fire("kf_save")
    assert len(Animation.load(tmp_path / "performance.json").keyframes) == 3 + len(recorded)


def test_keyframes_stay_with_the_model_they_were_made_with(app, reference_dir):
    keyframes = panel(app)
    made = len(keyframes.keys)
    assert made > 3
    app.open_checkpoint(str(reference_dir / "pkl" / "sg3r_64.pkl"))
    step_until(app, lambda: app.model is not None and app.model.path.endswith("sg3r_64.pkl"))
    settle(app)
    assert len(keyframes.keys) == 0 and app.state.timeline_shown is None
    app.open_checkpoint(str(reference_dir / "pkl" / "sg3t_64.pkl"))
    step_until(app, lambda: app.model.path.endswith("sg3t_64.pkl"))
    settle(app)
    assert len(keyframes.keys) == made
