"""Keyframe animations: keyframes render as their sessions, W moves as a numpy oracle says, poses take
the short way, loops close, and bad files are refused in one sentence naming the keyframe."""
import dataclasses
import json
import math
import os
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from eqviz.cli.main import main
from eqviz.core.images import to_uint8
from eqviz.core.latents import session_ws, z_from_seed
from eqviz.core.rendering import render_session
from eqviz.core.session import Session
from eqviz.core.edits import Edit
from eqviz.errors import Cancelled, EqvizError
from eqviz.keyframes.animation import MAX_FILE_BYTES, MAX_KEYFRAMES, Animation, Keyframe
from eqviz.keyframes.latents import KeyframeLatents
from eqviz.keyframes.timeline import frame_times, pose_at, segment_at
from eqviz.keyframes.video import KeyframeSource, render_keyframe_video
from eqviz.video.render import VideoSpec
from test_video import generators, pkl  # noqa: F401 (the reference generators, loaded once per module)


def source(animation, named, fps, **settings):
    return KeyframeSource(VideoSpec(checkpoints=[n for n, _ in named], out="unused.mp4", fps=fps, **settings), animation, named)


def edit(w_dim, alpha, seed=0):
    d = np.random.RandomState(seed).randn(w_dim)
    return Edit(direction=tuple(d / np.linalg.norm(d)), alpha=alpha, scale=2.0, layers=(0, 4), label="test")


def mean_abs(a, b):
    return float(np.abs(a.astype(np.int32) - b.astype(np.int32)).mean())


# ---- the frame at a keyframe's time is `eqviz render --session` of it --------------------------------
def test_keyframe_frames_are_render_session_pixel_for_pixel(tmp_path, pkl):
    sessions = [Session(latent_x=3.0),
                Session(latent_x=7.0, psi=0.6, cutoff=4, translate=(0.1, -0.05), rotate_deg=170.0, mix_seed=2),
                Session(latent_x=2.25, latent_y=1.5, rotate_deg=-170.0, seed_b=9, interp_t=0.3, edits=[edit(64, 1.5)])]
    Animation(tuple(Keyframe(t, s, easing) for t, s, easing in
                    zip((0.0, 0.4, 0.7), sessions, ("linear", "ease-in-out", "hold")))).save(tmp_path / "kf.json")
    argv = ["video", pkl("sg3t_64"), "--keyframes", str(tmp_path / "kf.json"), "--fps", "10", "--out", str(tmp_path / "frames")]
    assert main(argv) == 0
    assert len(list((tmp_path / "frames").iterdir())) == 8  # t = 0, 0.1, ..., 0.7 inclusive
    for n, (frame, session) in enumerate(zip((0, 4, 7), sessions)):
        session.save(tmp_path / f"s{n}.json")
        assert main(["render", pkl("sg3t_64"), "--session", str(tmp_path / f"s{n}.json"), "--outdir", str(tmp_path / "r")]) == 0
        ours = np.asarray(Image.open(tmp_path / "frames" / f"frame_{frame:06d}.png"))
        theirs = np.asarray(Image.open(tmp_path / "r" / f"s{n}.png"))
        assert np.array_equal(ours, theirs), f"keyframe {n + 1}"


def test_stylegan2_random_noise_keyframes_keep_their_noise(tmp_path, generators):
    name, G = generators("sg2_64")
    np.save(tmp_path / "w.npy", session_ws(G, Session(latent_x=11.0, psi=0.5)).numpy())
    sessions = [Session(latent_x=1.0, noise_mode="random", noise_seed=3),
                Session(w_path=str(tmp_path / "w.npy"), noise_mode="random", noise_seed=8)]
    frames = source(Animation((Keyframe(0.0, sessions[0]), Keyframe(0.5, sessions[1]))), [(name, G)], fps=4).render([0, 2])
    for frame, session in zip(frames, sessions):
        assert np.array_equal(frame, to_uint8(render_session(G, session)))


# ---- between keyframes -------------------------------------------------------------------------------
def test_halfway_between_pose_only_keyframes_is_the_halfway_pose(generators):
    name, G = generators("sg3t_64")
    a = Session(latent_x=5.0, translate=(0.0, 0.0), rotate_deg=0.0)
    b = Session(latent_x=5.0, translate=(0.2, -0.1), rotate_deg=90.0)
    animation = Animation((Keyframe(0.0, a, "ease-in-out"), Keyframe(1.0, b)))
    [middle] = source(animation, [(name, G)], fps=2).render([1])
    halfway = Session(latent_x=5.0, translate=(0.1, -0.05), rotate_deg=45.0)
    assert np.array_equal(middle, to_uint8(render_session(G, halfway)))


@pytest.mark.parametrize("a, b, quarter", [(170.0, -170.0, 175.0), (-170.0, 170.0, -175.0), (0.0, 720.0, 180.0),
                                           (10.0, 100.0, 32.5), (0.0, -360.0, -90.0)])
def test_rotation_turns_the_short_way_unless_written_beyond_half_a_turn(a, b, quarter):
    animation = Animation((Keyframe(0.0, Session(rotate_deg=a)), Keyframe(4.0, Session(rotate_deg=b))))
    assert pose_at(animation, segment_at(animation, 1.0))[1] == pytest.approx(quarter)


def test_a_keyframe_added_across_180_degrees_keeps_the_next_turn_short():
    from eqviz.keyframes.editing import KeyframeList
    from eqviz.keyframes.timeline import session_at

    keys = KeyframeList()
    keys.add(Session(rotate_deg=170.0), t=0.0)
    keys.add(Session(rotate_deg=-170.0), t=1.0)
    shown = session_at(keys.animation(), segment_at(keys.animation(), 0.75))
    assert shown.rotate_deg == pytest.approx(-175.0)  # 185 degrees, kept in (-180, 180]
    keys.add(shown, t=0.75)  # K on the scrubbed frame
    animation = keys.animation()
    assert pose_at(animation, segment_at(animation, 0.875))[1] == pytest.approx(-172.5)  # 5 degrees on, not 355 back


def test_a_keyframe_added_inside_written_turns_keeps_them():
    from eqviz.keyframes.editing import KeyframeList
    from eqviz.keyframes.timeline import session_at

    keys = KeyframeList()
    keys.add(Session(rotate_deg=0.0), t=0.0)
    keys.add(Session(rotate_deg=720.0), t=2.0)
    keys.add(session_at(keys.animation(), segment_at(keys.animation(), 1.0)), t=1.0)
    animation = keys.animation()
    assert [pose_at(animation, segment_at(animation, t))[1] for t in (0.5, 1.0, 1.5)] == \
        pytest.approx([180.0, 360.0, 540.0])  # still two whole turns


@pytest.mark.parametrize("loop", [None, 31.0])
def test_segment_lookup_finds_the_keyframes_around_any_time(loop):
    """The bisection agrees with a plain scan over the keyframes, at, near and between their times."""
    from eqviz.keyframes.timeline import TIME_TOLERANCE

    rng = np.random.RandomState(3)
    times = np.unique(np.round(rng.uniform(0.5, 30.0, 40), 3))
    animation = Animation(tuple(Keyframe(float(t), Session()) for t in times), loop=loop)
    probes = [*times, *(times + 0.4 * TIME_TOLERANCE), *(times - 0.4 * TIME_TOLERANCE), *rng.uniform(0.0, 30.5, 200)]
    for t in probes:
        segment = segment_at(animation, float(t))
        at = [k for k, time in enumerate(times) if abs(time - t) <= TIME_TOLERANCE]
        if at:
            assert (segment.start, segment.exact) == (at[0], at[0])
        elif times[0] < t < times[-1]:
            before = max(k for k, time in enumerate(times) if time < t)
            assert (segment.start, segment.end, segment.exact) == (before, before + 1, None)
            assert segment.s == pytest.approx((t - times[before]) / (times[before + 1] - times[before]))
        elif loop is None:
            assert segment.start == segment.end == (0 if t < times[0] else len(times) - 1) and segment.s == 0.0
        else:  # the last keyframe leads back into the first
            assert (segment.start, segment.end) == (len(times) - 1, 0) and 0 < segment.s < 1


def test_easings_hold_and_ease_symmetrically():
    keys = [Keyframe(0.0, Session(translate=(0.0, 0.0)), "hold"), Keyframe(1.0, Session(translate=(1.0, 0.0)), "ease-in-out"),
            Keyframe(2.0, Session(translate=(3.0, 0.0)))]
    animation = Animation(tuple(keys))
    x = lambda t: pose_at(animation, segment_at(animation, t))[0][0]  # noqa: E731
    assert [x(0.5), x(0.999)] == [0.0, 0.0]
    assert x(1.5) == 2.0 and x(1.25) == pytest.approx(1 + 2 * (3 * 0.25 ** 2 - 2 * 0.25 ** 3))
    assert x(2.5) == 3.0 and x(-1.0) == 0.0  # held past the ends


def test_noise_seed_is_held_until_the_next_keyframe():
    animation = Animation((Keyframe(0.0, Session(noise_seed=3)), Keyframe(1.0, Session(noise_seed=9))))
    assert animation.keyframes[segment_at(animation, 0.99).start].session.noise_seed == 3
    assert animation.keyframes[segment_at(animation, 1.0).start].session.noise_seed == 9


def test_w_lerps_between_final_ws_as_a_numpy_oracle(tmp_path, generators):
    _, G = generators("sg3t_64")
    np.save(tmp_path / "w.npy", np.random.RandomState(1).randn(1, G.num_ws, G.w_dim).astype(np.float32))
    sessions = [Session(latent_x=3.0, psi=1.0), Session(latent_x=4.5, psi=0.4, cutoff=6, mix_seed=7, edits=[edit(G.w_dim, 2.0)]),
                Session(w_path=str(tmp_path / "w.npy"), edits=[edit(G.w_dim, -1.0)])]
    animation = Animation((Keyframe(0.0, sessions[0], "ease-in-out"), Keyframe(1.0, sessions[1]), Keyframe(3.0, sessions[2])))
    finals = [session_ws(G, s).double().numpy() for s in sessions]
    latents = KeyframeLatents(G, animation)
    for t, (i, s) in ((0.3, (0, 0.3 * 0.3 * (3 - 0.6))), (0.5, (0, 0.5)), (1.5, (1, 0.25)), (2.9, (1, 0.95))):
        oracle = (1 - s) * finals[i] + s * finals[i + 1]
        np.testing.assert_allclose(latents.frame_ws(segment_at(animation, t)).double().numpy(), oracle, atol=1e-5, rtol=1e-5)
    assert torch.equal(latents.frame_ws(segment_at(animation, 1.0)), session_ws(G, sessions[1]))


def test_z_segments_slerp_the_seeds_as_a_numpy_oracle(generators):
    _, G = generators("sg3t_64")
    a, b = Session(latent_x=2.0, psi=0.5, edits=[edit(G.w_dim, 1.0)]), Session(latent_x=9.0, psi=0.9)
    animation = Animation((Keyframe(0.0, a, space="z"), Keyframe(1.0, b)))
    za, zb = z_from_seed(2, G.z_dim)[0], z_from_seed(9, G.z_dim)[0]
    omega = math.acos(np.dot(za, zb) / np.linalg.norm(za) / np.linalg.norm(zb))
    s = 0.3
    z = (math.sin((1 - s) * omega) * za + math.sin(s * omega) * zb) / math.sin(omega)
    w = G.mapping(torch.tensor(z[None], dtype=torch.float32), torch.zeros(1, 0)).double().numpy()
    w_avg = G.mapping.w_avg.double().numpy()
    truncated = [w_avg + psi * (w - w_avg) for psi in (0.5, 0.9)]
    offset = np.zeros_like(w)
    offset[:, 0:4] = 1.0 * 2.0 * np.asarray(a.edits[0].direction)
    oracle = (1 - s) * (truncated[0] + offset) + s * truncated[1]
    got = KeyframeLatents(G, animation).frame_ws(segment_at(animation, s)).double().numpy()
    np.testing.assert_allclose(got, oracle, atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("a, b, space", [
    (Session(latent_x=3.0, psi=0.7), Session(latent_x=8.0, psi=0.7), "w"),
    (Session(latent_x=2.5, latent_y=1.0, cutoff=5, mix_seed=4), Session(latent_x=6.0, cutoff=5, mix_seed=4), "w"),
    (Session(latent_x=3.0, edits=[edit(64, 1.5)]), Session(latent_x=9.0, edits=[edit(64, -0.5), edit(64, 2.0, seed=1)]), "w"),
    (Session(latent_x=2.0, psi=0.5, edits=[edit(64, 1.0)]), Session(latent_x=9.0, psi=0.5), "z"),
], ids=["seeds", "between-seeds-mixed", "edits", "z"])
def test_the_session_between_two_keyframes_holds_the_w_shown_there(generators, a, b, space):
    from eqviz.keyframes.between import session_between

    _, G = generators("sg3t_64")
    animation = Animation((Keyframe(0.0, a, "ease-in-out", space), Keyframe(1.0, dataclasses.replace(b, rotate_deg=40.0))))
    segment = segment_at(animation, 0.3)
    between = session_between(animation, segment)
    assert between.rotate_deg == pytest.approx(40.0 * segment.s)
    shown = KeyframeLatents(G, animation).frame_ws(segment).double().numpy()
    np.testing.assert_allclose(session_ws(G, between).double().numpy(), shown, atol=2e-5, rtol=1e-5)


def test_the_session_between_keyframes_is_refused_where_none_holds_the_w(tmp_path):
    from eqviz.keyframes.between import session_between

    np.save(tmp_path / "w.npy", np.zeros((1, 4, 8), np.float32))
    for b, differs in ((Session(latent_x=4.0, psi=0.5), "they differ in psi"),
                       (Session(latent_x=4.0, mix_seed=1), "they differ in mix_seed"),
                       (Session(latent_x=4.5), "keyframe 2 is between seeds"),
                       (Session(w_path=str(tmp_path / "w.npy")), "is a W file")):
        animation = Animation((Keyframe(0.0, Session(latent_x=1.0)), Keyframe(1.0, b)))
        with pytest.raises(EqvizError, match=f"^the latent between keyframes 1 and 2 is no one session: .*{differs}"):
            session_between(animation, segment_at(animation, 0.5))
    same = Animation((Keyframe(0.0, Session(latent_x=1.0, psi=0.5)), Keyframe(1.0, Session(latent_x=1.0, psi=0.5, rotate_deg=90))))
    assert session_between(same, segment_at(same, 0.5)) == dataclasses.replace(same.keyframes[0].session, rotate_deg=45.0)


# ---- loops and frame times ---------------------------------------------------------------------------
def test_frames_run_to_the_last_keyframe_or_over_one_loop():
    keys = (Keyframe(0.0, Session()), Keyframe(1.0, Session(latent_x=1.0)))
    assert len(frame_times(Animation(keys), 10)) == 11
    assert len(frame_times(Animation(keys, loop=1.5), 10)) == 15
    assert Animation.from_dict({**Animation(keys).to_dict(), "loop": True}).loop == 2.0


def test_looped_file_leads_from_its_last_frame_smoothly_into_the_first(generators):
    keys = (Keyframe(0.0, Session(latent_x=1.0, rotate_deg=0.0), "ease-in-out"),
            Keyframe(0.5, Session(latent_x=2.0, rotate_deg=40.0), "ease-in-out"),
            Keyframe(1.0, Session(latent_x=3.0, translate=(0.1, 0.0)), "ease-in-out"))
    src = source(Animation(keys, loop=1.5), [generators("sg3t_64")], fps=8)
    assert src.count == 12
    frames = src.render(range(src.count + 1))
    assert np.array_equal(frames[-1], frames[0])  # the frame after the last is the first
    steps = [mean_abs(p, q) for p, q in zip(frames[:-2], frames[1:-1])]
    closing = mean_abs(frames[-2], frames[0])
    assert 0 < closing <= max(steps)


# ---- the video -------------------------------------------------------------------------------------------
def test_side_by_side_shows_each_generator_at_the_keyframe(generators):
    named = [generators("sg3t_64"), generators("sg3r_64")]
    session = Session(latent_x=4.0, rotate_deg=30.0)
    animation = Animation((Keyframe(0.0, session), Keyframe(1.0, Session(latent_x=5.0))))
    [frame] = source(animation, named, fps=2, labels=False).render([0])
    assert frame.shape == (64, 64 * 2 + 2, 3)
    assert np.array_equal(frame[:, :64], to_uint8(render_session(named[0][1], session)))
    assert np.array_equal(frame[:, 66:], to_uint8(render_session(named[1][1], session)))


def test_untransformed_panel_undoes_the_interpolated_pose(generators):
    from eqviz.core.resampling import untransform
    from eqviz.video.render import masked

    name, G = generators("sg3t_64")
    animation = Animation((Keyframe(0.0, Session(latent_x=4.0)), Keyframe(1.0, Session(latent_x=4.0, rotate_deg=90.0))))
    [middle] = source(animation, [(name, G)], fps=2, untransform=True, error_map=True, labels=False).render([1])
    assert middle.shape == (64, 3 * 64 + 2 * 2, 3)
    halfway = render_session(G, Session(latent_x=4.0, rotate_deg=45.0))
    undone, mask = untransform(halfway, translate=(0.0, 0.0), rotate_deg=45.0)
    expected = to_uint8(masked(undone, mask.expand_as(undone)))
    assert np.abs(middle[:, 66:130].astype(int) - expected.astype(int)).max() <= 1


def test_stylegan2_alone_refuses_posed_keyframes_naming_one(tmp_path, pkl, capsys):
    Animation((Keyframe(0.0, Session()), Keyframe(1.0, Session(rotate_deg=30.0)))).save(tmp_path / "kf.json")
    assert main(["video", pkl("sg2_64"), "--keyframes", str(tmp_path / "kf.json"), "--out", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--keyframes: keyframe 2 is translated or rotated" in err and len(err.splitlines()) == 1


def test_cancelled_keyframe_video_leaves_no_file(tmp_path, generators):
    animation = Animation((Keyframe(0.0, Session()), Keyframe(1.0, Session(latent_x=1.0))))
    spec = VideoSpec(checkpoints=["sg2_64"], out=str(tmp_path / "c.mp4"), fps=12, batch=3)
    cancel = threading.Event()
    with pytest.raises(Cancelled, match="cancelled at 3 of 13"):
        render_keyframe_video(animation, spec, progress=lambda p: cancel.set(), cancel=cancel.is_set,
                              generators=[generators("sg2_64")])
    assert list(tmp_path.iterdir()) == []


def test_untransform_panels_need_a_keyframe_that_moves(generators):
    animation = Animation((Keyframe(0.0, Session()), Keyframe(1.0, Session(latent_x=1.0))))
    with pytest.raises(EqvizError, match="no keyframe of this animation is translated or rotated"):
        source(animation, [generators("sg3t_64")], fps=2, untransform=True)


# ---- bad input -------------------------------------------------------------------------------------------
def good() -> dict:
    return Animation((Keyframe(0.0, Session()), Keyframe(1.0, Session(latent_x=1.0)))).to_dict()


def with_keyframe(n, **changes):
    doc = good()
    doc["keyframes"][n - 1].update(changes)
    return doc


BAD_FILES = {
    "session": ({"format": "eqviz-session/1"}, "not an eqviz keyframe file"),
    "empty": ({**good(), "keyframes": []}, "has no keyframes"),
    "backwards": (with_keyframe(2, time=0.0), "keyframe 2: time 0 s is not after keyframe 1's"),
    "negative": (with_keyframe(1, time=-1), "keyframe 1: time must be"),
    "string time": (with_keyframe(2, time="1"), "keyframe 2: time must be a number"),
    "easing": (with_keyframe(1, easing="bounce"), "keyframe 1: easing must be one of linear, ease-in-out, hold"),
    "session field": (with_keyframe(2, session={"format": "eqviz-session/1", "psi": "high"}), "keyframe 2: session has a field"),
    "noise mode": (with_keyframe(2, session={"format": "eqviz-session/1", "noise_mode": "loud"}), "keyframe 2: noise_mode must be"),
    "z of a w file": (with_keyframe(1, space="z", session={"format": "eqviz-session/1", "w_path": "w.npy"}),
                      "keyframe 1: slerp in Z needs"),
    "unknown field": (with_keyframe(2, speed=3), "keyframe 2 has unknown field(s) speed"),
    "loop": ({**good(), "loop": 0.5}, "loop must be a period in seconds after the last keyframe"),
    "too many": ({**good(), "keyframes": [{}] * (MAX_KEYFRAMES + 1)}, f"more than the {MAX_KEYFRAMES}"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_keyframe_files_are_refused_in_one_sentence(tmp_path, pkl, capsys, case):
    doc, expected = BAD_FILES[case]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    out = tmp_path / "out.mp4"
    assert main(["video", pkl("sg3t_64"), "--keyframes", str(tmp_path / "bad.json"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("content, reason", [
    (b"\xff\xfe{", "is not UTF-8 text"),
    (b'{"format": "eqviz-keyframes/1", "loop": NaN, "keyframes": []}', "holds NaN"),
    (b"[" * 100_000 + b"]" * 100_000, "nests deeper than")])
def test_undecodable_keyframe_files_are_refused(tmp_path, content, reason):
    (tmp_path / "bad.json").write_bytes(content)
    with pytest.raises(EqvizError, match=f"keyframe file .*bad.json {reason}") as info:
        Animation.load(tmp_path / "bad.json")
    assert len(str(info.value).splitlines()) == 1


def test_huge_and_special_files_are_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(EqvizError, match="has 64.0 MB, more than the 64.0 MB"):
        Animation.load(huge)
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(EqvizError, match="is a named pipe"):
        Animation.load(tmp_path / "fifo.json")


def test_library_refuses_settings_the_keyframes_hold(generators):
    animation = Animation((Keyframe(0.0, Session()),))
    with pytest.raises(EqvizError, match="^psi is set by the keyframes") as info:
        source(animation, [generators("sg3t_64")], fps=2, psi=0.5)
    assert info.value.argument == "psi"


@pytest.mark.parametrize("flags, named", [(["--seeds", "3"], "--seeds"), (["--psi", "0.5"], "--psi"),
                                          (["--turns", "2"], "--motion"), (["--class", "1"], "--class")])
def test_keyframes_refuse_motion_flags(tmp_path, pkl, capsys, flags, named):
    Animation.from_dict(good()).save(tmp_path / "kf.json")
    assert main(["video", pkl("sg3t_64"), "--keyframes", str(tmp_path / "kf.json"), *flags, "--out", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err
    assert f"error: {named} is set by the keyframes" in err and len(err.strip().splitlines()) == 1


def test_file_round_trips(tmp_path):
    animation = Animation((Keyframe(0.0, Session(psi=0.5, edits=[edit(8, 1.0)]), "hold"),
                           Keyframe(2.5, Session(latent_x=3.0), space="w")), loop=4.0)
    animation.save(tmp_path / "kf.json")
    assert Animation.load(tmp_path / "kf.json") == animation


# ---- editing, as the app's panel does it -------------------------------------------------------------
def test_list_keeps_time_order_and_one_keyframe_per_time():
    from eqviz.keyframes.editing import KeyframeList

    keys = KeyframeList()
    keys.add(Session(latent_x=2.0), t=2.0)
    keys.add(Session(latent_x=0.0), t=0.0)
    keys.add(Session(latent_x=1.0), t=1.0)
    keys.set_easing(1, "hold")
    assert keys.add(Session(latent_x=9.0), t=1.0) == 1  # replaces, keeps the easing
    assert [(i.keyframe.time, i.keyframe.session.latent_x, i.keyframe.easing) for i in keys.items] == \
        [(0.0, 0.0, "linear"), (1.0, 9.0, "hold"), (2.0, 2.0, "linear")]
    assert keys.retime(0, 3.0) == 2 and [i.keyframe.time for i in keys.items] == [1.0, 2.0, 3.0]
    with pytest.raises(EqvizError, match="keyframe 2 is already at 2 s"):
        keys.retime(0, 2.0)
    keys.add(Session(latent_x=2.5, mix_seed=4), t=2.0)
    with pytest.raises(EqvizError, match="keyframe 1: slerp in Z needs"):
        keys.set_space(0, "z")  # its next keyframe mixes styles
    assert keys.items[0].keyframe.space == "w"
    keys.set_loop(2.5)  # before the last keyframe: the loop grows past it
    assert keys.animation().loop == 4.0


def test_recording_replaces_the_keyframes_inside_its_span():
    from eqviz.keyframes.editing import KeyframeList, Recorder

    keys = KeyframeList()
    for t in (0.0, 1.5, 5.0):
        keys.add(Session(latent_x=t), t=t)
    recorder = Recorder(start=1.0, clock=100.0)
    for clock, degrees in ((100.0, 0.0), (100.5, 0.0), (100.9, 10.0), (102.0, 20.0)):
        recorder.sample(clock, Session(rotate_deg=degrees, view={"zoom": clock}))  # view changes are not changes
    recorder.stop(103.0)
    assert recorder.finish(keys) == 5
    assert [(i.keyframe.time, i.keyframe.session.rotate_deg) for i in keys.items] == \
        [(0.0, 0.0), (1.0, 0.0), (1.5, 0.0), (pytest.approx(1.9), 10.0), (3.0, 20.0), (4.0, 20.0), (5.0, 0.0)]


def test_a_pause_in_a_recording_holds_instead_of_drifting():
    from eqviz.keyframes.editing import KeyframeList, Recorder

    recorder = Recorder(start=0.0, clock=10.0)
    recorder.sample(10.0, Session(rotate_deg=0.0))
    for tick in range(1, 21):  # two seconds at rest, seen every tenth of a second
        recorder.still(10.0 + tick / 10)
    recorder.sample(12.1, Session(rotate_deg=30.0))
    keys = KeyframeList()
    recorder.finish(keys)
    animation = keys.animation()
    assert [pose_at(animation, segment_at(animation, t))[1] for t in (1.0, 2.0, 2.05, 2.1)] == \
        pytest.approx([0.0, 0.0, 15.0, 30.0])


def test_app_renderer_shows_the_video_frame_and_names_a_broken_keyframe(tmp_path, generators):
    from eqviz.app.frame_renderer import FrameRenderer, RenderRequest
    from eqviz.app.state import ViewState
    from eqviz.keyframes.timeline import TimelineFrame, session_at

    name, G = generators("sg3t_64")
    animation = Animation((Keyframe(0.0, Session(latent_x=1.0)), Keyframe(1.0, Session(latent_x=4.0, rotate_deg=30.0))))
    segment = segment_at(animation, 0.25)
    renderer = FrameRenderer(G, "cpu")
    result = renderer.render(RenderRequest(1, session_at(animation, segment), ViewState(), 0.0, TimelineFrame(animation, segment)))
    [frame] = source(animation, [(name, G)], fps=4).render([1])
    assert result.error is None and np.array_equal(result.picture, frame)

    broken = Animation((animation.keyframes[0], Keyframe(1.0, Session(w_path=str(tmp_path / "gone.npy")))))
    result = renderer.render(RenderRequest(2, broken.keyframes[0].session, ViewState(), 0.0,
                                           TimelineFrame(broken, segment_at(broken, 0.5))))
    assert result.error.startswith("keyframe 2: W file") and "does not exist" in result.error


def test_cli_writes_an_mp4_of_one_loop_and_refuses_to_overwrite(tmp_path, pkl, capsys):
    import imageio.v2 as imageio

    keys = (Keyframe(0.0, Session(latent_x=1.0), "ease-in-out"), Keyframe(1.0, Session(latent_x=2.0, rotate_deg=20.0)))
    Animation(keys, loop=1.5).save(tmp_path / "loop.json")
    out = tmp_path / "loop.mp4"
    argv = ["video", pkl("sg3t_64"), "--keyframes", str(tmp_path / "loop.json"), "--fps", "10", "--out", str(out)]
    assert main(argv) == 0
    with imageio.get_reader(out) as reader:
        assert len([f for f in reader]) == 15 and reader.get_meta_data()["fps"] == 10
    assert "15 frames at 10 fps = 1.50 s" in capsys.readouterr().out
    assert main(argv) == 2 and "--overwrite" in capsys.readouterr().err
