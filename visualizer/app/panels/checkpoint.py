"""Checkpoint panel: open by dialog, typed path, recent list or a browsed folder; shows what is loaded."""
from __future__ import annotations

from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.assets import DEMO_CHECKPOINT
from eqviz.app.panel import Panel, PanelContext
from eqviz.app.recent import list_checkpoints, load_recent
from eqviz.app.widgets import CHECKPOINT_EXTENSIONS, file_dialog
from eqviz.errors import EqvizError


class CheckpointPanel(Panel):
    title = "Checkpoint"
    default_open = True

    def __init__(self):
        self._was_loading = True  # so the first refresh after a load names the loaded model
        self._browsed: dict[str, str] = {}  # file name -> path, for the folder list

    def build(self, ctx: PanelContext) -> None:
        file_dialog("open_checkpoint_dialog", "Open checkpoint", lambda p: self._open(ctx, p), CHECKPOINT_EXTENSIONS)
        file_dialog("browse_folder_dialog", "Browse a folder of checkpoints", lambda p: self.browse(ctx, p), (),
                    directory=True)
        with dpg.group(horizontal=True):
            dpg.add_button(label="Open... (Ctrl+O)", callback=lambda *_: dpg.show_item("open_checkpoint_dialog"))
            dpg.add_button(label="Browse folder...", callback=lambda *_: dpg.show_item("browse_folder_dialog"))
            dpg.add_button(label="Demo", tag="checkpoint_demo", callback=lambda *_: self._open(ctx, str(DEMO_CHECKPOINT)),
                           show=DEMO_CHECKPOINT.is_file())
            dpg.add_loading_indicator(tag="checkpoint_busy", style=1, radius=1.3, show=False)
        dpg.add_input_text(tag="checkpoint_path", hint="type or paste a path, then Enter", width=-1, on_enter=True,
                           callback=lambda _s, value, _u: self._open(ctx, value))
        dpg.add_combo(tag="checkpoint_recent", items=load_recent(), label="recent", width=-60,
                      callback=lambda _s, value, _u: self._open(ctx, value))
        dpg.add_combo(tag="checkpoint_folder", items=[], label="folder", width=-60, show=False,
                      callback=lambda _s, value, _u: self._open(ctx, self._browsed[value]))
        dpg.add_text("nothing loaded", tag="checkpoint_label", wrap=400, color=(170, 170, 170))
        if ctx.state.browse_dir:
            self.browse(ctx, ctx.state.browse_dir)

    def browse(self, ctx: PanelContext, folder: str) -> None:
        """List the checkpoints of `folder` in the folder list, beside the recent one."""
        try:
            paths = list_checkpoints(folder)
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)
            return
        ctx.state.browse_dir = folder
        self._browsed = {Path(p).name: p for p in paths}
        dpg.configure_item("checkpoint_folder", items=list(self._browsed), show=True,
                           label=f"in {Path(folder).name or folder}")
        if not paths:
            ctx.set_status(f"{folder} holds no .pkl or .safetensors checkpoints", error=True)

    def _open(self, ctx: PanelContext, path: str) -> None:
        path = path.strip().strip('"').strip("'")
        if not path:
            return
        dpg.set_value("checkpoint_path", path)
        self._was_loading = True  # a load that fails at once still puts the loaded path back
        ctx.open_checkpoint(path)

    def refresh(self, ctx: PanelContext) -> None:
        loading = ctx.loading is not None
        if loading == self._was_loading:
            return
        self._was_loading = loading
        dpg.configure_item("checkpoint_busy", show=loading)
        if not loading:  # done: the path box names what is loaded (a failed path does not linger)
            dpg.set_value("checkpoint_path", ctx.model.path if ctx.model else "")

    def on_model_changed(self, ctx: PanelContext) -> None:
        m = ctx.model
        dpg.set_value("checkpoint_label", f"{m.label}: {m.summary} (device and backend: Performance)")
        recent = load_recent()
        dpg.configure_item("checkpoint_recent", items=recent)
        loaded = str(Path(m.path).resolve()) if m.path != "<in memory>" else ""
        dpg.set_value("checkpoint_recent", loaded if loaded in recent else "")
        name = Path(m.path).name
        dpg.set_value("checkpoint_folder", name if self._browsed.get(name) == m.path else "")
