"""The app: one main loop on the main thread that owns every dpg call.

Each UI frame: deliver finished jobs and worker results, advance animations, post the latest
render request if the state changed, let panels mirror the state, run queued callbacks, draw.
The loop never waits for a render; between frames it sleeps to the Performance panel's FPS limit
(a finished render wakes it at once), so the UI leaves the cores to synthesis. Once nothing has changed for
AWAKE_SECONDS, it stops drawing until input arrives, a render or job finishes, or a slow timer
ticks (`ui_wake`): an unchanged window costs next to nothing while a long synthesis runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.app import keys, viewer
from eqviz.app.frame_renderer import RenderResult, build_request
from eqviz.app.jobs import JobRunner
from eqviz.app.lifecycle import (KEEP_SECONDS, SHUTDOWN_SECONDS, CloseSignals, leave_now_if_threads_remain,
                                 switch_message)
from eqviz.app.memory_offer import offer_higher_limit
from eqviz.app.model import ModelInfo
from eqviz.app.panel import JobBody, JobDone, JobHandle, Panel
from eqviz.app.panels import PANEL_CLASSES
from eqviz.app.capture import save_screenshot
from eqviz.app.download import download_body
from eqviz.app.recent import remember
from eqviz.app.render_worker import LoadResult, RenderWorker
from eqviz.app.state import AppState
from eqviz.app.stats import FrameStats
from eqviz.app.status import LOAD, RENDER, StatusArea
from eqviz.app.ui_wake import UiWake
from eqviz.app.widgets import forget_dialogs, set_dialog_folder
from eqviz.downloads.sources import is_remote, local_file
from eqviz.downloads.store import source_of

CONTROLS_WIDTH = 430
# The two full-height windows and the image area draw no background of their own: the viewport is
# cleared to this colour instead. Under llvmpipe a background fill costs ~8 ns a pixel (the two
# windows and the image area were ~10 ms of a 19 ms idle frame), while the clear is a memset.
# Popups and dialogs keep their own background of the same colour.
WINDOW_BACKGROUND = (37, 37, 38, 255)
AWAKE_SECONDS = 0.25      # draw at the frame rate this long after the last change, callback or result
JOB_REDRAW_SECONDS = 0.25  # a sleeping UI redraws this often while a job reports progress
IDLE_REDRAW_SECONDS = 2.0  # and this often otherwise (tooltips and the like need no input to appear)
MAX_ANIMATION_STEP = 0.25  # seconds an animation may advance in one frame (after a sleep, say)
SCREENSHOT_GIVE_UP_FRAMES = 60


@dataclass
class ScriptedRun:
    """`--screenshot` / `--exit-after`: run N frames once the first image (or error) is shown."""
    exit_after: int | None = None
    screenshot: str | None = None
    frames_since_settled: int = 0
    screenshot_requested_at: int | None = None
    screenshot_saved: bool = False
    failure: str | None = None  # why the run did not do what it was asked (the command exits non-zero)

    @property
    def active(self) -> bool:
        return self.exit_after is not None or self.screenshot is not None


@dataclass
class AppOptions:
    checkpoint: str | None = None
    device: str = "cpu"
    threads: int | None = None   # torch CPU threads for rendering (None: torch's default)
    state: AppState = field(default_factory=AppState)
    scripted: ScriptedRun = field(default_factory=ScriptedRun)
    title: str = "eqviz"
    width: int = 1280
    height: int = 840


class App:
    """Implements `eqviz.app.panel.PanelContext` for the panels."""

    def __init__(self, options: AppOptions):
        self.options = options
        self.state = options.state
        self.model: ModelInfo | None = None
        self.last_result: RenderResult | None = None
        self.stats = FrameStats()
        self.wake = UiWake()
        self.worker = RenderWorker(options.device, on_result=self.wake.wake)
        self.jobs = JobRunner(on_finish=self.wake.wake)
        self.generation = 0  # one per successful load: what jobs and results belong to (eqviz.app.lifecycle)
        self.close_signals = CloseSignals(self.wake.wake)
        self.key_events = keys.KeyEvents()
        self._awake_until = 0.0
        self._sleeping = False  # dpg's wait_for_input is on
        self.panels: list[Panel] = [cls() for cls in PANEL_CLASSES]
        self._stamp = 0
        self._dirty = True
        self._shown_stamp = -1
        self._loading: str | None = None
        self._replaced_download: str | None = None  # a download stopped by the open now loading
        self.download: JobHandle | None = None  # a checkpoint being fetched before it loads
        self.max_memory: int | None = None  # the memory guard's limit (None: the machine's default); raised on offer
        self.status_area = StatusArea()
        self._displayed_pending: RenderResult | None = None  # on the texture, not yet drawn
        self._frames_answered = 0  # render results received, images and errors alike
        self._frame = 0
        self.viewer = viewer.Viewer(self)

    # -- PanelContext -----------------------------------------------------------------------------
    def request_render(self) -> None:
        self._dirty = True

    def set_status(self, text: str, error: bool = False, about: str = "") -> None:
        """News, or an error that stays until dismissed or (with `about`, see eqviz.app.status) put right."""
        self.status_area.set(text, error, about)

    def open_checkpoint(self, path: str) -> None:
        if self.download is not None:  # the newest request wins: a running download stops, and says so
            self.download.cancel()
            self.download = None
            self._replaced_download = self._loading
        if is_remote(path):  # a URL or a published name: fetched first (progress and Cancel in the checkpoint panel)
            self._fetch_checkpoint(path.strip())
            return
        path = str(Path(local_file(path)).expanduser())  # a file:// URL: the file it names
        self._loading = path
        self.set_status(f"loading {path} ...")
        self.worker.load(path, self.max_memory)

    def _fetch_checkpoint(self, source: str) -> None:
        self._loading = source
        self.set_status(f"downloading {source} ...")
        handle = self.jobs.start("download", download_body(source), lambda outcome: self._fetched(handle, source, outcome))
        self.download = handle

    def _fetched(self, handle: JobHandle, source: str, outcome) -> None:
        if handle is not self.download:
            return  # superseded by a later open
        self.download = None
        if outcome.error is None and outcome.cancelled_at is None and outcome.result:
            self.open_checkpoint(outcome.result)
            return
        self._loading = None
        kept = f" (still showing {self.model.label})" if self.model else ""
        if outcome.error is not None:
            self.set_status(outcome.error + kept, error=True, about=LOAD)
        else:
            self.set_status(f"download of {source} cancelled{kept}")

    def generator(self):
        return self.worker.generator()

    def start_job(self, name: str, body: JobBody, on_done: JobDone) -> JobHandle:
        return self.jobs.start(name, body, on_done, model=self.model.label if self.model else "",
                               generation=self.generation)

    def stay_awake(self, seconds: float) -> None:
        """Draw at the frame rate for the next `seconds` (0: from now on only as changes ask) even if
        nothing changes: input driven from outside, such as a test typing into a file dialog, which
        ImGui takes one key per frame."""
        self._awake_until = time.perf_counter() + seconds
        self.wake.wake()  # a frame already waiting for input ends its wait

    @property
    def status(self) -> tuple[str, bool]:
        """The status line: (text, whether it reports an error)."""
        return self.status_area.shown

    @property
    def loading(self) -> str | None:
        return self._loading

    @property
    def idle(self) -> bool:
        """Nothing loading, requested or rendering: what is on screen is the current state."""
        return self._loading is None and not self._dirty and not self.worker.busy

    @property
    def asleep(self) -> bool:
        """The next UI frame waits for input, a finished render or job, or the idle redraw timer."""
        return self._sleeping

    @property
    def frames_answered(self) -> int:
        return self._frames_answered

    @property
    def frame_count(self) -> int:
        return self._frame

    # -- window -----------------------------------------------------------------------------------
    def _build(self) -> None:
        dpg.create_viewport(title=self.options.title, width=self.options.width, height=self.options.height,
                            x_pos=0, y_pos=0,  # Dear PyGui's (100, 100) puts the window's edge off a screen its size
                            clear_color=WINDOW_BACKGROUND, vsync=self.state.view.vsync)
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvThemeCol_WindowBg, WINDOW_BACKGROUND)
                dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (0, 0, 0, 0))
        dpg.bind_theme(theme)
        dpg.add_texture_registry(tag="textures")  # every raw texture (the viewer's, the panels') lives here
        with dpg.window(tag="controls", no_title_bar=True, no_move=True, no_resize=True, no_close=True,
                        no_background=True, pos=(0, 0), width=CONTROLS_WIDTH, height=self.options.height):
            for panel in self.panels:
                with dpg.collapsing_header(label=panel.title, default_open=panel.default_open):
                    panel.build(self)
        self.viewer.build(CONTROLS_WIDTH)
        keys.install(self.key_events)
        dpg.set_viewport_resize_callback(lambda *_: self._layout())
        dpg.setup_dearpygui()
        dpg.show_viewport()
        self._layout()

    def _layout(self) -> None:
        w, h = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        dpg.configure_item("controls", height=h)
        self.viewer.layout(CONTROLS_WIDTH, w - CONTROLS_WIDTH, h)

    # -- per frame --------------------------------------------------------------------------------
    def _take_worker_results(self) -> bool:
        items = self.worker.poll()
        for item in items:
            if isinstance(item, LoadResult):
                self._on_loaded(item)
            elif item.stamp > self._shown_stamp:  # older ones, and any asked before a new model, are dropped
                self._show(item)
        return bool(items)

    def _choose_sleep(self, changed: bool, now: float) -> None:
        """Keep drawing while anything moves; otherwise let the next frame wait for input or a wake."""
        if changed or self._loading or self.options.scripted.active or self.state.anim.any_running:
            self._awake_until = max(self._awake_until, now + AWAKE_SECONDS)
        sleep = self.wake.available and now >= self._awake_until
        if sleep != self._sleeping:
            dpg.configure_app(wait_for_input=sleep)
            self._sleeping = sleep
        if sleep:
            self.wake.wake_at(time.monotonic() + (JOB_REDRAW_SECONDS if self.jobs.active else IDLE_REDRAW_SECONDS))

    def _on_loaded(self, item: LoadResult) -> None:
        stopped_download = ""
        if item.path == self._loading:
            self._loading = None
            if self._replaced_download:
                stopped_download = f"; the download of {self._replaced_download} was cancelled"
                self._replaced_download = None
        if item.error is not None:
            if self.options.scripted.active:
                self.options.scripted.failure = item.error
            kept = f" (still showing {self.model.label})" if self.model else ""
            self.set_status(item.error + kept + stopped_download, error=True, about=LOAD)
            if item.memory_needed is not None and not self.options.scripted.active:
                offer_higher_limit(self, item.path, item.error, item.memory_needed)
            return
        previous, self.model = self.model, item.info
        self.status_area.resolved(LOAD)
        self.generation += 1
        stopped = self.jobs.cancel_others(self.generation)
        dropped = self.state.forget_model(item.info.path) if previous is not None else []
        # Every frame asked for so far was for the previous model: never show one under this label.
        self._shown_stamp = self._stamp
        self.last_result = None
        self.viewer.clear()
        self.state.resolution = item.info.resolution
        loaded = f"loaded {item.info.label}: {item.info.summary} in {item.seconds:.1f} s"
        if not item.info.supports_input_transform:  # a StyleGAN2 starts untransformed
            if self.state.session.rotate_deg or any(self.state.session.translate):
                loaded += " (it has no input transform: the rotation and translation do not apply)"
            self.state.reset_transform()
            self.state.session.untransform = False
        self.state.session.checkpoint = source_of(item.info.path)  # a downloaded model saves as its name or URL
        if item.info.path != "<in memory>":
            set_dialog_folder(str(Path(item.info.path).parent))
        if self.state.view.layer not in ("output", *item.info.layer_names):
            self.state.view.layer = "output"
        if item.info.path != "<in memory>" and Path(item.info.path).is_file():
            remember(item.info.path)
        dpg.set_viewport_title(f"{self.options.title} - {item.info.label}")
        self.set_status(switch_message(loaded + stopped_download, stopped, dropped))
        if previous is not None:
            for panel in self.panels:
                panel.forget_model(self)
        for panel in self.panels:
            panel.on_model_changed(self)
        self.state.touch()
        self.request_render()

    def _show(self, result: RenderResult) -> None:
        self._shown_stamp = result.stamp
        self._frames_answered += 1
        if result.error is not None:
            self.set_status(result.error, error=True, about=RENDER)  # the previous frame stays on screen
            self.stats.add_error()
            return
        self.status_area.resolved(RENDER)
        self.viewer.show(result)
        self.last_result = result
        self._displayed_pending = result

    def _after_draw(self, now: float) -> None:
        if self._displayed_pending is not None:
            self.stats.add_frame(self._displayed_pending, displayed_at=now)
            self._displayed_pending = None

    def _scripted_step(self) -> bool:
        """Returns False when the scripted run is complete and the app should exit."""
        run = self.options.scripted
        if run.exit_after is None and run.screenshot is None:
            return True
        shown_or_failed = self._frames_answered > 0 or self.model is None
        settled = self._loading is None and not self.worker.busy and shown_or_failed
        if not settled and run.screenshot_requested_at is None:
            return True
        run.frames_since_settled += 1
        if run.exit_after is not None and run.frames_since_settled < run.exit_after:
            return True
        if run.screenshot is not None and not run.screenshot_saved:
            if run.screenshot_requested_at is None:
                def saved(ok: bool) -> None:
                    run.screenshot_saved = True
                    if not ok:
                        run.failure = run.failure or self._status[0]
                save_screenshot(self, run.screenshot, on_saved=saved)
                run.screenshot_requested_at = self._frame
            # dpg hands the frame buffer over a frame or two later; never hang if it does not.
            if self._frame - run.screenshot_requested_at < SCREENSHOT_GIVE_UP_FRAMES:
                return True
            run.failure = run.failure or f"the window screenshot was not taken, so {run.screenshot} was not written"
        return False

    def start(self) -> None:
        """Create the window and the worker, and start loading the checkpoint."""
        if self.options.threads:
            import torch
            torch.set_num_threads(self.options.threads)
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        self._build()
        self.wake.open()
        self.worker.start()
        if self.options.checkpoint:
            self.open_checkpoint(self.options.checkpoint)
        else:
            self.set_status("no checkpoint: open one with Ctrl+O", error=True)
        self._last_frame_start = time.perf_counter()

    def step(self) -> bool:
        """One UI frame; False once the window was closed or a scripted run is complete."""
        if not dpg.is_dearpygui_running() or self.close_signals.requested:
            return False
        frame_start = time.perf_counter()
        dt, self._last_frame_start = frame_start - self._last_frame_start, frame_start
        # Callbacks first: an edit made during the last frame is posted to the worker right away.
        callbacks = dpg.get_callback_queue()
        dpg.run_callbacks(callbacks)
        keys.handle_frame_keys(self, self.key_events)
        changed = self.jobs.deliver(self.generation) | self._take_worker_results() | bool(callbacks)
        if self.model is not None and self.state.advance(min(dt, MAX_ANIMATION_STEP)):
            self.request_render()
        changed |= self._dirty
        if self._dirty and self.model is not None:
            self._stamp += 1
            self.worker.submit(build_request(self.state, self._stamp))
            self._dirty = False
        for panel in self.panels:
            panel.refresh(self)
        self.viewer.refresh()
        self._choose_sleep(changed, frame_start)
        dpg.render_dearpygui_frame()
        self._frame += 1
        now = time.perf_counter()
        self._after_draw(now)
        self.stats.add_ui_frame(now)
        if not self._scripted_step():
            return False
        frame_seconds = 1.0 / self.state.view.fps_limit
        self.worker.wait_for_result(max(0.0, frame_seconds - (time.perf_counter() - frame_start)))
        return True

    def shutdown(self) -> list[str]:
        """Cancel every job and wait for it (each keeps what it promises on cancel), stop the render
        thread, destroy the window. Returns the threads that did not stop in time."""
        if self.jobs.active:
            self.set_status(f"closing: stopping {', '.join(h.name for h in self.jobs.active)} ...")
        for panel in self.panels:
            panel.close()
        still_running = self.jobs.stop_all(SHUTDOWN_SECONDS, KEEP_SECONDS)
        if not self.worker.stop(SHUTDOWN_SECONDS):
            still_running.append("a render")
        self.wake.close()
        forget_dialogs()
        dpg.destroy_context()
        return still_running

    def run(self) -> int:
        """The window until it is closed (or SIGTERM / SIGINT), then one shutdown; 0 when closed."""
        still_running: list[str] = []
        self.close_signals.install()
        try:
            self.start()
            while self.step():
                pass
        finally:
            still_running = self.shutdown()
            self.close_signals.uninstall()
        leave_now_if_threads_remain(still_running, 0)
        return 0

