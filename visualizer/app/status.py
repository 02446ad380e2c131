"""The status area above the image: one line for what just happened, and under it the latest error,
which stays until the user dismisses it or acts on its cause.

An error is never replaced by news (a finished frame, a loaded model, a job's progress): a red line
that vanished on the next rendered frame could not be read. An error does end the news line before
it: a job that said "downloading ..." or "rendering ..." has failed, not still running. It goes when the user presses Dismiss,
when a newer error takes its place, or when what it was about has been put right: a frame that failed
to render goes with the next frame that renders, a checkpoint that failed to load with the next load
that works. A field that refused a value says so beside itself as well (`widgets.show_field_error`).
"""
from __future__ import annotations

import dearpygui.dearpygui as dpg

ERROR_COLOUR = (255, 110, 100)
STATUS_COLOUR = (200, 200, 200)
# What an error can be about; an error of one of these goes once that works again ("": only Dismiss).
RENDER, LOAD = "render", "load"


class StatusArea:
    def __init__(self):
        self.info = ""
        self.error = ""
        self.error_about = ""

    def build(self) -> None:
        """The items, inside the current container (the viewer window, under its help button)."""
        with dpg.group(horizontal=True, tag="status_error_row", show=False):
            dpg.add_button(label="Dismiss", tag="status_dismiss", callback=lambda *_: self.dismiss())
            dpg.add_text("", tag="status_error", wrap=0, color=ERROR_COLOUR)

    def set(self, text: str, error: bool = False, about: str = "") -> None:
        if error:
            self.error, self.error_about = text, about
            self.info = ""  # news from before the error ("downloading ...", "rendering ...") is over
        else:
            self.info = text
        self._draw()

    def dismiss(self) -> None:
        self.error, self.error_about = "", ""
        self._draw()

    def resolved(self, about: str) -> None:
        """What an error of kind `about` reported works again: that error goes."""
        if self.error and self.error_about == about:
            self.dismiss()

    @property
    def shown(self) -> tuple[str, bool]:
        """(text, is_error): the standing error if there is one, else the latest news."""
        return (self.error, True) if self.error else (self.info, False)

    def _draw(self) -> None:
        if not dpg.does_item_exist("status_line"):
            return
        dpg.set_value("status_line", self.info)
        dpg.configure_item("status_line", color=STATUS_COLOUR)
        dpg.set_value("status_error", self.error)
        dpg.configure_item("status_error_row", show=bool(self.error))
