"""The Keyframes panel in the real app window (Xvfb in CI), driven with real keys and clicks: K adds
what the view shows, the scrubber shows the frame the video renders, play keeps time and drops frames
when synthesis is slower, save / load / render, record, and each model keeps its own keyframes."""
import re
import time

import numpy as np
import pytest
from PIL import Image

from app_driver import (NEEDS_DISPLAY, NEEDS_XDOTOOL, click, fire, focus_window, panel_of, running_app, send, settle,
                        step_for, step_until)

pytestmark = [pytest.mark.gui, NEEDS_DISPLAY, NEEDS_XDOTOOL]


@pytest.fixture(scope="module")
def app(reference_dir):
    with running_app(reference_dir / "pkl" / "sg3t_64.pkl") as app:
        yield app



def only_keyframes_open(app):
    """Collapse every other panel, so the whole Keyframes panel is on screen for clicks."""
    import dearpygui.dearpygui as dpg
    for header in dpg.get_item_children("controls", 1):
        dpg.set_value(header, dpg.get_item_label(header) == "Keyframes")
    settle(app)


def press(app, key):
    send(app, "key", key)
    settle(app)


def click_item(app, window, tag, fraction=0.5):
    """A real click on a widget, `fraction` of the way across it."""
    import dearpygui.dearpygui as dpg
    (x, y), (w, h) = dpg.get_item_rect_min(tag), dpg.get_item_rect_size(tag)
    assert dpg.is_item_visible(tag) and y + h < dpg.get_viewport_client_height(), f"{tag} is not on screen"
    click(app, window, int(x + fraction * w), int(y + h / 2))
    settle(app)


def rendered(G, session):
    from eqviz.core.images import to_uint8
    from eqviz.core.rendering import render_session
    return to_uint8(render_session(G, session))


def test_keys_add_keyframes_and_the_scrubber_shows_the_video_frame(app):
    import dearpygui.dearpygui as dpg
    from eqviz.app.panels.keyframes import thumbnail
    from eqviz.keyframes.video import KeyframeSource
    from eqviz.video.render import VideoSpec

    keyframes = panel_of(app, "KeyframesPanel")
    only_keyframes_open(app)
    window = focus_window(app)
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
    assert np.array_equal(keys.items[0].thumbnail, thumbnail(rendered(app.generator(), keys.items[0].keyframe.session)))
    assert app.status[0] == "keyframe 3 at 2.00 s"

    click_item(app, window, "kf_time", 0.25)          # a real click on the scrubber: about 1 s of 0..4 s
    assert abs(keys.playhead - 1.0) < 0.2 and app.state.timeline_shown is not None
    assert app.status[0].startswith(f"playhead at {keys.playhead:.2f} s")  # no longer the last keyframe's message

    fire("kf_time", 0.5)                              # between keyframes 1 and 2
    settle(app)
    assert app.status[0] == "playhead at 0.50 s, keyframe 1 -> 2, 50% of the way (linear)"
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
    paused = keys.playhead
    step_for(app, 0.5)
    assert keys.playhead == paused
    send(app, "key", "space")                         # Space again plays on to the end, then stops
    step_until(app, lambda: not keyframes.playing, timeout=30)
    assert keys.playhead == 2.0
    message = dpg.get_value("kf_playback")
    assert message == "playing at 24 fps" or message.startswith("showing "), message

    dpg.set_value(keyframes.header, False)
    settle(app)
    send(app, "key", "space")                         # closed panel: Space animates as before
    assert app.state.anim.any_running and not keyframes.playing
    send(app, "key", "space")
    assert not app.state.anim.any_running
    only_keyframes_open(app)


def test_k_between_keyframes_adds_what_the_view_shows(app):
    keyframes = panel_of(app, "KeyframesPanel")
    window = focus_window(app)
    click_item(app, window, "kf_time", 0.125)         # about 0.5 s, between seed 2 at 0 s and seed 5 at 1 s
    t = keyframes.keys.playhead
    assert 0.2 < t < 0.8
    scrubbed = np.array(app.last_result.picture)
    press(app, "k")
    added = keyframes.keys.items[1].keyframe
    assert added.time == t and app.status[0] == f"keyframe 2 at {t:.2f} s"
    session = added.session
    assert (session.latent_x, session.seed_b, session.interp_space) == (2.0, 5, "w")
    assert session.interp_t == pytest.approx(t) and session.rotate_deg == pytest.approx(10 * t)
    difference = np.abs(rendered(app.generator(), session).astype(int) - scrubbed.astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.05  # the same W, summed in another order
    fire("kf_row_1_delete")
    assert [item.keyframe.time for item in keyframes.keys.items] == [0.0, 1.0, 2.0]


def test_play_drops_frames_when_synthesis_is_slower_and_says_so(app, monkeypatch):
    import dearpygui.dearpygui as dpg
    from eqviz.app.frame_renderer import FrameRenderer

    keyframes = panel_of(app, "KeyframesPanel")
    focus_window(app)
    slow = FrameRenderer.render

    def render_slowly(self, request):
        time.sleep(0.25)  # at most 4 frames a second, of the 24 asked for
        return slow(self, request)

    monkeypatch.setattr(FrameRenderer, "render", render_slowly)
    fire("kf_loop", True)                             # a 4 s loop plays on until enough frames were shown
    press(app, "Home")
    send(app, "key", "space")
    started = time.monotonic()
    step_until(app, lambda: keyframes._play["shown"] >= 3 and time.monotonic() - started > 1.5, timeout=60)
    send(app, "key", "space")
    assert not keyframes.playing
    message = dpg.get_value("kf_playback")
    fire("kf_loop", False)
    play = keyframes._play
    assert play["due"] >= 3 * play["shown"]           # the clock ran on at 24 fps; most frames were dropped
    shown = re.fullmatch(r"showing ([\d.]+) of 24 frames a second: synthesis is slower, so frames are dropped here "
                         r"\(the video renders every one\)", message)
    assert shown and 0 < float(shown.group(1)) <= 4.0, message


def test_save_load_render_matches_the_scrubber(app, tmp_path, reference_dir):
    import dearpygui.dearpygui as dpg
    from eqviz.keyframes.animation import Animation

    keyframes = panel_of(app, "KeyframesPanel")
    window = focus_window(app)
    assert len(keyframes.keys) == 3
    dpg.set_value("kf_file", str(tmp_path / "kf.json"))
    click_item(app, window, "kf_save")
    saved = Animation.load(tmp_path / "kf.json")
    assert [k.time for k in saved.keyframes] == [0.0, 1.0, 2.0]

    click_item(app, window, "kf_row_2_delete")
    assert len(keyframes.keys) == 2
    click_item(app, window, "kf_load")
    step_until(app, lambda: keyframes._thumbnail_job is None)
    assert keyframes.animation() == saved and all(item.thumbnail is not None for item in keyframes.keys.items)

    fire("kf_row_2_time", 0.5)                        # a typed time: keyframe 3 moves before keyframe 2
    assert [i.keyframe.time for i in keyframes.keys.items] == [0.0, 0.5, 1.0] and keyframes.selected == 1
    fire("kf_row_1_time", 2.0)
    assert [i.keyframe.time for i in keyframes.keys.items] == [0.0, 1.0, 2.0]
    click_item(app, window, "kf_row_1")               # a click on a number jumps there
    assert keyframes.keys.playhead == 1.0 and app.state.session.latent_x == 5.0
    fire("kf_row_1_easing", "hold")
    assert keyframes.keys.items[1].keyframe.easing == "hold"
    fire("kf_row_1_easing", "linear")
    fire("kf_time", 0.5)
    settle(app)
    scrubbed = np.array(app.last_result.picture)
    dpg.set_value("kf_out", str(tmp_path / "frames"))
    dpg.set_value("kf_video_fps", 2.0)
    click_item(app, window, "kf_render")              # a background job: the window keeps drawing
    assert keyframes.job is not None
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


def test_render_video_runs_in_the_background_and_cancels(app, tmp_path):
    import dearpygui.dearpygui as dpg

    keyframes = panel_of(app, "KeyframesPanel")
    window = focus_window(app)
    dpg.set_value("kf_out", str(tmp_path / "long.mp4"))
    dpg.set_value("kf_video_fps", 60.0)
    click_item(app, window, "kf_render")
    step_until(app, lambda: keyframes.job is None or keyframes.job.done >= 1, timeout=60)
    assert keyframes.job is not None and keyframes.job.total == 121  # 0 to 2 s at 60 fps, still running
    click_item(app, window, "kf_cancel")
    step_until(app, lambda: keyframes.job is None, timeout=60)
    assert app.status[0].startswith("keyframe video cancelled at ") and list(tmp_path.iterdir()) == []


def test_record_turns_a_performance_into_keyframes(app, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.keyframes.animation import Animation
    from eqviz.keyframes.timeline import pose_at, segment_at

    keyframes = panel_of(app, "KeyframesPanel")
    window = focus_window(app)
    fire("kf_time", 3.0)
    settle(app)
    start = app.state.session.rotate_deg
    click_item(app, window, "kf_record")
    assert keyframes.recorder is not None
    send(app, "key", "shift+q")                       # the performance, with the keyboard: +10 degrees,
    step_for(app, 0.6)                                # a pause,
    send(app, "key", "shift+q")                       # +10 more,
    step_for(app, 0.3)
    click_item(app, window, "kf_record")              # and stop
    keys = keyframes.keys
    recorded = [item.keyframe for item in keys.items if item.keyframe.time >= 3.0]
    angles = [k.session.rotate_deg for k in recorded]
    # each change, and each state again at the last moment it held (before the next change, at Stop)
    assert angles == [start, start, start + 10, start + 10, start + 20, start + 20]
    assert recorded[0].time == 3.0 and recorded[3].time - recorded[2].time > 0.4
    animation = keyframes.animation()
    middle = (recorded[2].time + recorded[3].time) / 2
    assert pose_at(animation, segment_at(animation, middle))[1] == start + 10  # no drift through the pause
    assert app.status[0].startswith("recorded 6 keyframes")
    assert re.fullmatch(r"(at|holding) keyframe \d+|keyframe \d+ -> \d+, .*", dpg.get_value("kf_playback"))  # not "recording: ..."
    dpg.set_value("kf_file", str(tmp_path / "performance.json"))
    fire("kf_save")
    assert len(Animation.load(tmp_path / "performance.json").keyframes) == 3 + len(recorded)


def test_a_relative_file_name_is_shown_in_full(app, tmp_path, monkeypatch):
    import dearpygui.dearpygui as dpg

    keyframes = panel_of(app, "KeyframesPanel")
    if not keyframes.keys.items:
        fire("kf_add")
    monkeypatch.chdir(tmp_path)
    dpg.set_value("kf_file", " relative.json ")
    fire("kf_save")
    assert app.status[0] == f"saved {len(keyframes.keys)} keyframes to {tmp_path / 'relative.json'}"
    assert (tmp_path / "relative.json").is_file()


def test_each_model_keeps_its_own_keyframes(app, reference_dir, tmp_path):
    import dearpygui.dearpygui as dpg
    from eqviz.app.panels.keyframes import IDLE_HINT
    from eqviz.keyframes.animation import Animation

    keyframes = panel_of(app, "KeyframesPanel")
    only_keyframes_open(app)
    focus_window(app)
    press(app, "k")                                   # sg3t's list has a keyframe at least
    made = [item.keyframe for item in keyframes.keys.items]
    fire("kf_time", keyframes.keys.playhead)
    assert dpg.get_value("kf_playback").startswith("at keyframe")

    def open_model(name):
        app.open_checkpoint(str(reference_dir / "pkl" / f"{name}.pkl"))
        step_until(app, lambda: app.model is not None and app.model.path.endswith(f"{name}.pkl"))
        settle(app)
        return focus_window(app)

    window = open_model("sg3r_64")
    assert len(keyframes.keys) == 0 and app.state.timeline_shown is None
    assert dpg.get_value("kf_playback") == IDLE_HINT  # not the place in sg3t's keyframes
    app.state.reset_transform()
    app.state.session.latent_x = 11.0
    app.state.touch()
    settle(app)
    press(app, "k")
    click_item(app, window, "kf_time", 0.25)          # shows sg3r's one keyframe
    assert app.state.session.latent_x == 11.0

    window = open_model("sg2_64")                     # a third list, at the same count of changes
    assert len(keyframes.keys) == 0
    app.state.session.latent_x = 7.0
    app.state.touch()
    settle(app)
    press(app, "k")
    click_item(app, window, "kf_time", 0.25)
    assert app.state.session.latent_x == 7.0          # sg2's keyframe, not the list shown before
    dpg.set_value("kf_file", str(tmp_path / "sg2.json"))
    click_item(app, window, "kf_save")
    [saved] = Animation.load(tmp_path / "sg2.json").keyframes
    assert saved.session.latent_x == 7.0 and saved.session.checkpoint.endswith("sg2_64.pkl")
    dpg.set_value("kf_out", str(tmp_path / "sg2"))
    click_item(app, window, "kf_render")
    step_until(app, lambda: keyframes.job is None)
    frame = np.asarray(Image.open(tmp_path / "sg2" / "frame_000000.png"))
    assert np.array_equal(frame, rendered(app.generator(), saved.session))

    open_model("sg3t_64")
    assert [item.keyframe for item in keyframes.keys.items] == made
    assert keyframes.animation().keyframes == tuple(made)
