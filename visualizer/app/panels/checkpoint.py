"""Checkpoint panel: open by dialog, typed path or recent list; shows what is loaded and on what."""
from __future__ import annotations

import dearpygui.dearpygui as dpg

from eqviz.assets import DEMO_CHECKPOINT
from eqviz.app.panel import Panel, PanelContext
from eqviz.app.recent import load_recent
from eqviz.app.widgets import file_dialog

CHECKPOINT_EXTENSIONS = ("Checkpoints{.pkl,.safetensors,.pt,.pth}", ".pkl", ".safetensors", ".*")


class CheckpointPanel(Panel):
    title = "Checkpoint"
    default_open = True

    def build(self, ctx: PanelContext) -> None:
        file_dialog("open_checkpoint_dialog", "Open checkpoint", lambda p: self._open(ctx, p), CHECKPOINT_EXTENSIONS)
        with dpg.group(horizontal=True):
            dpg.add_button(label="Open... (Ctrl+O)", callback=lambda *_: dpg.show_item("open_checkpoint_dialog"))
            dpg.add_button(label="Demo", tag="checkpoint_demo", callback=lambda *_: self._open(ctx, str(DEMO_CHECKPOINT)),
                           show=DEMO_CHECKPOINT.is_file())
            dpg.add_loading_indicator(tag="checkpoint_busy", style=1, radius=1.3, show=False)
        dpg.add_input_text(tag="checkpoint_path", hint="type or paste a path, then Enter", width=-1, on_enter=True,
                           callback=lambda _s, value, _u: self._open(ctx, value))
        dpg.add_combo(tag="checkpoint_recent", items=load_recent(), label="recent", width=-60,
                      callback=lambda _s, value, _u: self._open(ctx, value))
        dpg.add_text("nothing loaded", tag="checkpoint_label", wrap=400)
        dpg.add_text("", tag="checkpoint_summary", wrap=400, color=(170, 170, 170))
        dpg.add_text("", tag="checkpoint_device", wrap=400, color=(170, 170, 170))

    def _open(self, ctx: PanelContext, path: str) -> None:
        path = path.strip().strip('"').strip("'")
        if not path:
            return
        dpg.set_value("checkpoint_path", path)
        ctx.open_checkpoint(path)

    def refresh(self, ctx: PanelContext) -> None:
        loading = ctx.loading is not None
        if dpg.is_item_shown("checkpoint_busy") != loading:
            dpg.configure_item("checkpoint_busy", show=loading)

    def on_model_changed(self, ctx: PanelContext) -> None:
        m = ctx.model
        dpg.set_value("checkpoint_label", m.label)
        dpg.set_value("checkpoint_summary", m.summary)
        dpg.set_value("checkpoint_device", f"device {m.device}; {m.backend}")
        dpg.configure_item("checkpoint_recent", items=load_recent())
