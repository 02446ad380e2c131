"""Keyframes panel: set the current state as keyframes on a timeline, scrub and play the interpolated
animation in the view, record a live performance, save / load the keyframe file, and render the
video in the background with the same renderer as `eqviz video --keyframes`.

The keyframes belong to the model they were made with: each checkpoint keeps its own list.
"""
from __future__ import annotations

import copy
import math
import time

import dearpygui.dearpygui as dpg
import numpy as np
from PIL import Image

from eqviz.app.compare_list import CompareList, named_generators
from eqviz.app.job_panel import JobPanel
from eqviz.app.lifecycle import same_checkpoint
from eqviz.app.panel import PanelContext
from eqviz.app.panels.video_export import show_video_result
from eqviz.app.widgets import path_row, set_if_changed, typed_path
from eqviz.core.images import rgba
from eqviz.errors import EqvizError
from eqviz.keyframes.animation import EASINGS, SPACES, Animation
from eqviz.keyframes.between import session_between
from eqviz.keyframes.editing import KeyframeList, Recorder
from eqviz.keyframes.latents import KeyframeLatents
from eqviz.keyframes.timeline import TimelineFrame, segment_at, session_at
from eqviz.keyframes.video import render_keyframe_video
from eqviz.video.render import VideoSpec, load_generators

PLAY_FPS = (12, 24, 30, 60)      # playback rates offered; the video's own rate is set separately
THUMBNAIL = 40                   # pixels, square
MAX_THUMBNAILS = 200             # rows beyond this show no picture (a recording can hold thousands)
MAX_ROWS = 1000                  # rows listed; the animation keeps every keyframe, the list says how many more
SCRUB_MARGIN_S = 2.0             # the scrubber reaches this far past the last keyframe (room for the next)
DROP_REPORT_AFTER_S = 1.0        # playback reports dropped frames once it has run this long
IDLE_HINT = "K adds the view at the playhead; drag the time to scrub the interpolated frames"


def thumbnail(picture: np.ndarray | None) -> np.ndarray | None:
    """[THUMBNAIL, THUMBNAIL, 3] uint8 of a shown picture ([H, W, C] uint8), small enough to keep hundreds."""
    if picture is None:
        return None
    rgb = picture[..., :3] if picture.shape[-1] >= 3 else np.repeat(picture[..., :1], 3, axis=-1)
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((THUMBNAIL, THUMBNAIL), Image.BILINEAR))


def render_thumbnails(G, animation: Animation, device, handle) -> dict[int, np.ndarray]:
    """Job body: thumbnails of a loaded file's first keyframes, rendered with the app's generator."""
    from eqviz.core.images import to_uint8
    from eqviz.core.rendering import render_session
    from eqviz.errors import stop_if_cancelled

    count = min(len(animation.keyframes), MAX_THUMBNAILS)
    pictures = {}
    for k in range(count):
        stop_if_cancelled(handle.cancelled, "keyframe thumbnails", k, count, partial=pictures)
        try:
            pictures[k] = thumbnail(to_uint8(render_session(G, animation.keyframes[k].session, device)))
        except EqvizError:
            pass  # the keyframe cannot be shown with this model: its row says so when selected
        handle.report(k + 1, count, f"thumbnail {k + 1}/{count}")
    return pictures


def where(animation: Animation, segment) -> str:
    """The playhead's place in words: at a keyframe, or how far from one to the next and how it eases."""
    if segment.exact is not None:
        return f"at keyframe {segment.exact + 1}"
    if segment.start == segment.end:
        return f"holding keyframe {segment.start + 1}"
    easing = animation.keyframes[segment.start].easing
    return f"keyframe {segment.start + 1} -> {segment.end + 1}, {100 * segment.s:.0f}% of the way ({easing})"


class KeyframesPanel(JobPanel):
    title = "Keyframes"
    default_open = False
    job_name = "keyframe video"
    tag_prefix = "kf"
    run_suffix = "render"
    run_label = "Render video"

    def __init__(self):
        super().__init__()
        self.lists: dict[str, KeyframeList] = {"": KeyframeList()}  # checkpoint path -> its keyframes
        self.model_path = ""
        self.header = None
        self.selected: int | None = None
        self.playing = False
        self.recorder: Recorder | None = None
        self._recorded_revision = -1
        self._shown_revision = -1
        self._textures: list[int] = []
        self._play = {}    # playback clock: started, from, last frame, frames due, frames shown, last result
        self._thumbnail_job = None
        self.compare = CompareList("kf_compare")  # checkpoints rendered side by side with the same keyframes

    @property
    def keys(self) -> KeyframeList:
        return self.lists[self.model_path]

    # ---- widgets ---------------------------------------------------------------------------------------
    def build(self, ctx: PanelContext) -> None:
        self.ctx = ctx  # the list's row callbacks act through it
        self.header = dpg.top_container_stack()
        with dpg.group(horizontal=True):
            dpg.add_button(label="Add keyframe (K)", tag="kf_add", callback=lambda *_: self.add(ctx))
            dpg.add_button(label="Delete", tag="kf_delete", callback=lambda *_: self.delete(ctx))
            dpg.add_text("", tag="kf_summary")
        dpg.add_slider_float(label="time s", tag="kf_time", min_value=0.0, max_value=SCRUB_MARGIN_S, width=-60,
                             format="%.2f", callback=lambda _s, t, _u=None: self.seek(ctx, t))
        with dpg.group(horizontal=True):
            dpg.add_button(label="Play (Space)", tag="kf_play", width=110, callback=lambda *_: self.toggle_play(ctx))
            dpg.add_combo([str(f) for f in PLAY_FPS], tag="kf_play_fps", default_value="24", width=50)
            dpg.add_text("fps")
            dpg.add_button(label="Record", tag="kf_record", callback=lambda *_: self.toggle_record(ctx))
        dpg.add_text(IDLE_HINT, tag="kf_playback", wrap=0, color=(150, 150, 150))
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="loop, period s", tag="kf_loop", callback=lambda *_: self.set_loop(ctx))
            dpg.add_input_float(tag="kf_period", default_value=4.0, width=100, format="%.2f", step=0,
                                on_enter=True, callback=lambda *_: self.set_loop(ctx))
        with dpg.table(tag="kf_table", header_row=True, clipper=True, scrollY=True, height=190, borders_innerH=True,
                       policy=dpg.mvTable_SizingFixedFit):
            for label in ("#", "", "time s", "easing", "space", ""):
                dpg.add_table_column(label=label)
        path_row("kf_file", "Keyframe file", (".json", ".*"), "keyframes.json", default_filename="keyframes.json")
        with dpg.group(horizontal=True):
            dpg.add_button(label="Save", tag="kf_save", callback=lambda *_: self.save(ctx))
            dpg.add_button(label="Load", tag="kf_load", callback=lambda *_: self.load(ctx))
        dpg.add_separator()
        path_row("kf_out", "Render keyframe video to", (".mp4", ".gif", ".*"), "keyframes.mp4",
                 default_filename="keyframes.mp4")
        with dpg.group(horizontal=True):
            dpg.add_input_float(label="video fps", tag="kf_video_fps", default_value=VideoSpec.fps, min_value=1,
                                min_clamped=True, width=90, format="%.1f", step=0)
            dpg.add_input_int(label="size (0 = native)", tag="kf_size", default_value=0, min_value=0, min_clamped=True,
                              width=90, step=0)
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="untransformed", tag="kf_untransform")
            dpg.add_checkbox(label="error map", tag="kf_error_map")
            dpg.add_checkbox(label="overwrite", tag="kf_overwrite")
        self.compare.build()
        self.build_job_controls(ctx)

    def rebuild_list(self) -> None:
        """The keyframe rows, made again after every change of the list (thumbnails as static textures)."""
        for row in dpg.get_item_children("kf_table", 1) or []:
            dpg.delete_item(row)
        for texture in self._textures:
            dpg.delete_item(texture)
        self._textures = []
        for k, item in enumerate(self.keys.items[:MAX_ROWS]):
            key = item.keyframe
            with dpg.table_row(parent="kf_table"):
                dpg.add_selectable(label=str(k + 1), default_value=k == self.selected, tag=f"kf_row_{k}", user_data=k,
                                   callback=lambda _s, _v, k: self.jump(self.ctx, k))
                if item.thumbnail is not None and k < MAX_THUMBNAILS:
                    texture = dpg.add_static_texture(THUMBNAIL, THUMBNAIL, rgba(item.thumbnail).ravel(), parent="textures")
                    self._textures.append(texture)
                    dpg.add_image(texture)
                else:
                    dpg.add_text("")
                dpg.add_input_float(tag=f"kf_row_{k}_time", default_value=key.time, width=70, format="%.3f", step=0,
                                    on_enter=True, user_data=k, callback=lambda _s, t, k: self.retime(self.ctx, k, t))
                dpg.add_combo(EASINGS, tag=f"kf_row_{k}_easing", default_value=key.easing, width=110, user_data=k,
                              callback=lambda _s, e, k: self.edit(self.ctx, lambda: self.keys.set_easing(k, e)))
                dpg.add_combo(SPACES, tag=f"kf_row_{k}_space", default_value=key.space, width=35, user_data=k,
                              callback=lambda _s, v, k: self.edit(self.ctx, lambda: self.keys.set_space(k, v)))
                dpg.add_button(label="x", tag=f"kf_row_{k}_delete", user_data=k,
                               callback=lambda _s, _v, k: self.delete(self.ctx, k))
        if len(self.keys) > MAX_ROWS:
            with dpg.table_row(parent="kf_table"):
                dpg.add_text("")
                dpg.add_text(f"... and {len(self.keys) - MAX_ROWS} more keyframes, kept in the animation and the file")

    # ---- editing ---------------------------------------------------------------------------------------
    def animation(self) -> Animation:
        """The shown model's keyframes as an animation."""
        if not self.keys.items:
            raise EqvizError("there are no keyframes yet: press K or Add keyframe")
        return self.keys.animation()

    def add(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        if not self.shows_a_session(ctx, "add a keyframe here"):
            return
        picture = ctx.last_result.picture if ctx.last_result is not None else None
        try:
            index = self.keys.add(ctx.state.session_for_saving(), thumbnail(picture))
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        self.selected = index
        ctx.set_status(f"keyframe {index + 1} at {self.keys.playhead:.2f} s")

    def shows_a_session(self, ctx: PanelContext, action: str) -> bool:
        """Whether the state's session is what the view shows. Between keyframes it is, where one session
        holds the in-between latent (`seek` put it there); elsewhere the status line says why not."""
        shown = ctx.state.timeline_shown
        if shown is None or shown.segment.exact is not None:
            return True
        try:
            session_between(shown.animation, shown.segment)
        except EqvizError as exc:
            ctx.set_status(f"{exc}; to {action}, change the view first (it then shows the session) or move onto a "
                           "keyframe", error=True)
            return False
        return True

    def delete(self, ctx: PanelContext, index: int | None = None) -> None:
        index = self.selected if index is None else index
        if index is None or not 0 <= index < len(self.keys):
            ctx.set_status("select a keyframe to delete (click its number)", error=True)
            return
        self.keys.remove(index)
        self.selected = None
        ctx.set_status(f"deleted keyframe {index + 1}")

    def retime(self, ctx: PanelContext, index: int, t: float) -> None:
        self.edit(ctx, lambda: setattr(self, "selected", self.keys.retime(index, t)))

    def edit(self, ctx: PanelContext, change) -> None:
        """Applies a change to the list; a refusal is the status line, the list stays as it was."""
        try:
            change()
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            self._shown_revision = -1  # put the row's widgets back
            return
        self.seek(ctx, self.keys.playhead)

    def set_loop(self, ctx: PanelContext) -> None:
        period = dpg.get_value("kf_period") if dpg.get_value("kf_loop") else None
        self.edit(ctx, lambda: self.keys.set_loop(period))

    # ---- the playhead ----------------------------------------------------------------------------------
    def seek(self, ctx: PanelContext, t: float) -> None:
        """Shows the animation at time t (the interpolated frame while nothing else is edited)."""
        self.keys.playhead = max(0.0, float(t))
        if not self.keys.items:
            return
        try:
            animation = self.animation()
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        segment = segment_at(animation, self.keys.playhead)
        try:
            session = session_between(animation, segment)  # what the view shows, where one session holds it
        except EqvizError:
            session = session_at(animation, segment)  # the pose and noise shown; K and Record then say why not
        ctx.state.show_timeline(TimelineFrame(animation, segment), copy.deepcopy(session))
        ctx.request_render()
        if not self.playing and self.recorder is None:
            place = where(animation, segment)
            dpg.set_value("kf_playback", place)
            ctx.set_status(f"playhead at {self.keys.playhead:.2f} s, {place}")  # replaces the message of what came before

    def jump(self, ctx: PanelContext, index: int) -> None:
        if not 0 <= index < len(self.keys):
            return
        self.selected = index
        self._shown_revision = -1  # the selection mark moves
        self.seek(ctx, self.keys.items[index].keyframe.time)

    def show_place(self) -> None:
        """The hint line once nothing plays or records: where the playhead is, or how to start."""
        if not self.keys.items:
            dpg.set_value("kf_playback", IDLE_HINT)
            return
        try:
            animation = self.keys.animation()
        except EqvizError:
            dpg.set_value("kf_playback", IDLE_HINT)  # the status line says what is wrong with the list
            return
        dpg.set_value("kf_playback", where(animation, segment_at(animation, self.keys.playhead)))

    def toggle_play(self, ctx: PanelContext) -> None:
        if self.playing:
            self.playing = False  # the line keeps how the playing went (frames dropped)
            return
        if len(self.keys) < 2:
            ctx.set_status("playing needs two keyframes or more", error=True)
            return
        if self.recorder is not None:
            self.toggle_record(ctx)
        start = 0.0 if self.keys.loop is None and self.keys.playhead >= self.keys.duration else self.keys.playhead
        self._play = dict(started=time.perf_counter(), start=start, frame=-1, due=0, shown=0, result=ctx.last_result)
        self.playing = True

    def play_tick(self, ctx: PanelContext) -> None:
        """Moves the playhead to the newest due frame; frames synthesis could not keep up with are dropped."""
        fps = float(dpg.get_value("kf_play_fps"))
        p = self._play
        elapsed = time.perf_counter() - p["started"]
        frame = math.floor((p["start"] + elapsed) * fps + 1e-9)
        if ctx.last_result is not p["result"]:
            p["result"], p["shown"] = ctx.last_result, p["shown"] + 1
        if frame == p["frame"]:
            return
        p["due"] += 1 if p["frame"] < 0 else frame - p["frame"]
        p["frame"] = frame
        t = frame / fps
        if self.keys.loop is not None:
            t = math.fmod(t, self.keys.loop)
        elif t >= self.keys.duration:
            t, self.playing = self.keys.duration, False
        self.seek(ctx, t)
        if elapsed >= DROP_REPORT_AFTER_S and p["shown"] < 0.9 * p["due"]:
            dpg.set_value("kf_playback", f"showing {p['shown'] / elapsed:.1f} of {fps:g} frames a second: synthesis is "
                                         "slower, so frames are dropped here (the video renders every one)")
        elif self.playing:  # at the end, seek has said where the playhead stopped
            dpg.set_value("kf_playback", f"playing at {fps:g} fps")

    def toggle_record(self, ctx: PanelContext) -> None:
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            recorder.stop(time.perf_counter())
            dpg.configure_item("kf_record", label="Record")
            try:
                added = recorder.finish(self.keys)
            except EqvizError as exc:
                ctx.set_status(str(exc), error=True)
                return
            finally:
                self.show_place()
            span = recorder.samples[-1][0] - recorder.samples[0][0] if recorder.samples else 0.0
            ctx.set_status(f"recorded {added} keyframes over {span:.2f} s")
            return
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        if not self.shows_a_session(ctx, "record from here"):
            return
        self.playing = False
        now = time.perf_counter()
        self.recorder = Recorder(self.keys.playhead, now)
        picture = ctx.last_result.picture if ctx.last_result is not None else None
        self.recorder.sample(now, ctx.state.session, thumbnail(picture))  # the state it starts from
        self._recorded_revision = ctx.state.revision
        dpg.configure_item("kf_record", label="Stop recording")
        ctx.set_status(f"recording from {self.keys.playhead:.2f} s: move the sliders, drag the view; "
                       "press Stop recording to finish")

    def record_tick(self, ctx: PanelContext) -> None:
        if ctx.state.revision == self._recorded_revision:
            self.recorder.still(time.perf_counter())
            return
        self._recorded_revision = ctx.state.revision
        keep = ctx.last_result is not None and len(self.recorder.samples) < MAX_THUMBNAILS  # the list shows no more
        picture = thumbnail(ctx.last_result.picture) if keep else None
        if not self.recorder.sample(time.perf_counter(), ctx.state.session, picture):
            self.toggle_record(ctx)  # full: keep what was recorded
            return
        self.keys.playhead = self.recorder.samples[-1][0]
        dpg.set_value("kf_playback", f"recording: {len(self.recorder.samples)} changes, "
                                     f"{self.keys.playhead - self.recorder.start:.1f} s")

    # ---- files and the video ---------------------------------------------------------------------------
    def save(self, ctx: PanelContext) -> None:
        path = typed_path("kf_file")
        try:
            self.animation().save(path)
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        ctx.set_status(f"saved {len(self.keys)} keyframes to {path}")

    def load(self, ctx: PanelContext) -> None:
        """Reads the file, then checks on a job's thread that this model can show every keyframe (a
        class, a W file's shape, an edit's size): a file made for another model is refused whole."""
        path = typed_path("kf_file")
        G, model = ctx.generator(), ctx.model
        if G is None or model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        try:
            animation = Animation.load(path)
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)  # the list stays as it was
            return

        def checked(outcome) -> None:
            if outcome.stale:
                return  # another model was opened meanwhile: the file was meant for this one
            if outcome.error is not None:
                ctx.set_status(f"{path} does not fit {model.label} ({outcome.error}); its keyframes stay as they were",
                               error=True)
                return
            self.use_loaded(ctx, animation, path)

        ctx.start_job("keyframe check", lambda handle: KeyframeLatents(G, animation, model.device).check(), checked)

    def use_loaded(self, ctx: PanelContext, animation: Animation, path: str) -> None:
        """A loaded file that fits the model replaces its keyframes."""
        self.keys.replace_with(animation)
        self.selected = None
        set_if_changed("kf_loop", animation.loop is not None)
        if animation.loop is not None:
            dpg.set_value("kf_period", animation.loop)
        self.seek(ctx, 0.0)
        ctx.set_status(f"loaded {len(animation.keyframes)} keyframes ({animation.duration:.2f} s) from {path}")
        self.start_thumbnails(ctx, animation)

    def start_thumbnails(self, ctx: PanelContext, animation: Animation) -> None:
        G, keys, revision = ctx.generator(), self.keys, self.keys.revision
        if G is None or ctx.model is None:
            return
        if self._thumbnail_job is not None:
            self._thumbnail_job.cancel()

        def done(outcome) -> None:
            self._thumbnail_job = None
            pictures = outcome.result or {}  # a cancelled run's partial pictures, a stale run's too: the list is that model's
            if keys.revision == revision:  # the list is the one loaded: put the pictures in
                for k, picture in pictures.items():
                    keys.items[k].thumbnail = picture
                keys.changed()

        self._thumbnail_job = ctx.start_job("keyframe thumbnails",
                                            lambda handle: render_thumbnails(G, animation, ctx.model.device, handle), done)

    def run(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        try:
            animation = self.animation()
            compare = list(self.compare.paths)
            spec = VideoSpec(checkpoints=[ctx.model.path, *compare], out=typed_path("kf_out"),
                             fps=dpg.get_value("kf_video_fps"), size=dpg.get_value("kf_size") or None,
                             untransform=dpg.get_value("kf_untransform"), error_map=dpg.get_value("kf_error_map"),
                             overwrite=dpg.get_value("kf_overwrite"), device=ctx.model.device)
            own = named_generators(ctx, [], spec.device)  # the model the keyframes were made with, now
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return

        def body(handle):
            named = [*own, *load_generators(compare, spec.device)]  # the comparisons load on the job's thread
            return render_keyframe_video(animation, spec, progress=lambda p: handle.report(p.done, p.total, str(p)),
                                         cancel=handle.cancelled, generators=named)

        self.start(ctx, body, f"rendering {len(animation.keyframes)} keyframes to {spec.out} ...",
                   about=f"{len(animation.keyframes)} keyframes, {animation.duration:.2f} s at {spec.fps:g} fps to {spec.out}")

    def show_result(self, ctx: PanelContext, result, complete: bool) -> None:
        show_video_result(ctx, "kf_progress", result)

    # ---- the app's hooks -------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.header is not None and bool(dpg.get_value(self.header))

    def on_key(self, ctx: PanelContext, key: int) -> bool:
        """K adds a keyframe; with this panel open Space plays / pauses; Home / End jump to the first / last."""
        if key == dpg.mvKey_K:
            self.add(ctx)
        elif key == dpg.mvKey_Spacebar and self.is_open:
            self.toggle_play(ctx)
        elif key in (dpg.mvKey_Home, dpg.mvKey_End) and self.keys.items:
            self.jump(ctx, 0 if key == dpg.mvKey_Home else len(self.keys) - 1)
        else:
            return False
        return True

    def forget_model(self, ctx: PanelContext) -> None:
        """The previous model's list stays with it (it comes back when that checkpoint is opened
        again); playing stops and a recording ends into that list. Its jobs the app has cancelled."""
        super().forget_model(ctx)
        self.playing = False
        if self.recorder is not None:
            self.toggle_record(ctx)

    def on_model_changed(self, ctx: PanelContext) -> None:
        path = ctx.model.path if ctx.model is not None else ""
        self.model_path = next((known for known in self.lists if same_checkpoint(known, path)), path)
        self.lists.setdefault(self.model_path, KeyframeList())
        self.selected = None
        self._shown_revision = -1
        self.show_place()

    def refresh(self, ctx: PanelContext) -> None:
        super().refresh(ctx)
        self.ctx = ctx
        if self.playing:
            self.play_tick(ctx)
        elif self.recorder is not None:
            self.record_tick(ctx)
        keys = self.keys
        if keys.revision != self._shown_revision:
            self._shown_revision = keys.revision
            self.rebuild_list()
            dpg.configure_item("kf_time", max_value=max(keys.duration + SCRUB_MARGIN_S, SCRUB_MARGIN_S))
            dpg.set_value("kf_summary", f"{len(keys)} keyframes, {keys.duration:.2f} s" if keys.items else "no keyframes")
        set_if_changed("kf_time", keys.playhead)
        label = "Pause (Space)" if self.playing else "Play (Space)"
        if dpg.get_item_label("kf_play") != label:
            dpg.configure_item("kf_play", label=label)
