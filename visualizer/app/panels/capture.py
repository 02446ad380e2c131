"""Capture panel: save the frame at full resolution, a window screenshot, and whole sessions."""
from __future__ import annotations

from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.errors import EqvizError
from eqviz.app.capture import save_current_image, save_screenshot
from eqviz.app.panel import Panel, PanelContext
from eqviz.app.widgets import dialog_open, file_dialog
from eqviz.core.session import Session


# Frames drawn with no file dialog on screen before a screenshot asked from the dialog is taken (the
# frame buffer is read a frame after it is asked for): the shot shows the window, not its dialog.
CLEAN_FRAMES = 2


class CapturePanel(Panel):
    title = "Capture and session"
    default_open = False

    def __init__(self):
        self._pending_shot: str | None = None
        self._clean_frames = 0

    def build(self, ctx: PanelContext) -> None:
        file_dialog("save_image_dialog", "Save image", lambda p: save_current_image(ctx, p), (".png",),
                    default_filename="eqviz.png")
        file_dialog("save_screenshot_dialog", "Save window screenshot", self._shoot_when_clean, (".png",),
                    default_filename="eqviz_window.png")
        file_dialog("save_session_dialog", "Save session", lambda p: self._save_session(ctx, p), (".json",),
                    default_filename="session.json")
        file_dialog("load_session_dialog", "Load session", lambda p: self._load_session(ctx, p), (".json", ".*"))
        with dpg.group(horizontal=True):
            dpg.add_button(label="Save image (Ctrl+S)", callback=lambda *_: save_current_image(ctx))
            dpg.add_button(label="Save image as...", callback=lambda *_: dpg.show_item("save_image_dialog"))
        dpg.add_button(label="Save window screenshot...", callback=lambda *_: dpg.show_item("save_screenshot_dialog"))
        with dpg.group(horizontal=True):
            dpg.add_button(label="Save session...", callback=lambda *_: dpg.show_item("save_session_dialog"))
            dpg.add_button(label="Load session...", callback=lambda *_: dpg.show_item("load_session_dialog"))
        dpg.add_text("A session file holds the checkpoint, latent, transform and view; "
                     "`eqviz render --session` and `eqviz video --session` read the same file.",
                     wrap=0, color=(150, 150, 150))

    def _shoot_when_clean(self, path: str) -> None:
        self._pending_shot, self._clean_frames = path, 0

    def refresh(self, ctx: PanelContext) -> None:
        if self._pending_shot is None:
            return
        self._clean_frames = 0 if dialog_open() else self._clean_frames + 1
        if self._clean_frames >= CLEAN_FRAMES:
            save_screenshot(ctx, self._pending_shot)
            self._pending_shot = None

    def _save_session(self, ctx: PanelContext, path: str) -> None:
        try:
            ctx.state.session_for_saving().save(path)
        except (EqvizError, OSError) as exc:
            ctx.set_status(f"could not save session: {exc}", error=True)
            return
        ctx.set_status(f"saved session to {path}")

    def _load_session(self, ctx: PanelContext, path: str) -> None:
        try:
            session = Session.load(path)
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        ctx.state.adopt_session(session)
        ctx.request_render()
        loaded = ctx.model.path if ctx.model else None
        if session.checkpoint and (loaded is None or Path(session.checkpoint).resolve() != Path(loaded).resolve()):
            ctx.open_checkpoint(session.checkpoint)
        else:
            ctx.set_status(f"loaded session {path}")
