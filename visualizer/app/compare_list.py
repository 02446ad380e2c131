"""Checkpoints shown side by side with the loaded one (video export, texture sticking): the list
widget, and the named generators a job renders."""
from __future__ import annotations

from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.errors import EqvizError
from eqviz.app.panel import PanelContext
from eqviz.app.widgets import CHECKPOINT_EXTENSIONS, file_dialog


def current_generator(ctx: PanelContext) -> tuple[str, object]:
    """(name, generator): the app's own generator (shared, only read), named after its file; the first
    column of a side-by-side video or sticking figure."""
    G = ctx.generator()
    if G is None or ctx.model is None:
        raise EqvizError("load a checkpoint first.")
    return Path(ctx.model.path).stem, G


def named_generators(ctx: PanelContext, compare, device) -> list[tuple[str, object]]:
    """(name, generator) pairs: the app's own generator, then the comparison checkpoints loaded on
    `device` (call it from the job's thread: loading takes a moment)."""
    from eqviz.video.render import load_generators

    return [current_generator(ctx), *load_generators(list(compare), device)]


class CompareList:
    """A list of extra checkpoints to show side by side, with add / clear buttons."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.paths: list[str] = []

    def build(self) -> None:
        file_dialog(f"{self.prefix}_add_dialog", "Add a checkpoint to compare", self.add, CHECKPOINT_EXTENSIONS)
        with dpg.group(horizontal=True):
            dpg.add_button(label="Compare with...", callback=lambda *_: dpg.show_item(f"{self.prefix}_add_dialog"))
            dpg.add_button(label="Clear", callback=self.clear)
        dpg.add_text("side by side: current checkpoint only", tag=f"{self.prefix}_list", wrap=0, color=(150, 150, 150))

    def add(self, path: str) -> None:
        """Checked now, not at export: a path that is not a file is refused with the reason."""
        if not Path(path).is_file():
            dpg.set_value(f"{self.prefix}_list", f"not added: {path} is not a file; pick an existing checkpoint")
            return
        if path not in self.paths:
            self.paths.append(path)
        self._show()

    def clear(self) -> None:
        self.paths = []
        self._show()

    def _show(self) -> None:
        names = ", ".join(Path(p).name for p in self.paths)
        dpg.set_value(f"{self.prefix}_list", f"side by side: current checkpoint, {names}" if names else "side by side: current checkpoint only")
