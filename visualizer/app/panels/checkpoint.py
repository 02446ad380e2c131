"""Checkpoint panel: open by dialog, typed path or URL, recent list, a browsed folder or NVIDIA's
published models (downloaded with progress and a Cancel); shows what is loaded."""
from __future__ import annotations

from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.assets import DEMO_CHECKPOINT
from eqviz.app.panel import Panel, PanelContext
from eqviz.app.recent import list_checkpoints, load_recent, recent_entry
from eqviz.app.widgets import CHECKPOINT_EXTENSIONS, file_dialog
from eqviz.downloads.catalogue import CATALOGUE
from eqviz.downloads.store import where_cached
from eqviz.errors import EqvizError

CACHED_TEXT = {"eqviz": "  (downloaded)", "dnnlib": "  (in NVIDIA's cache)", None: ""}


def published_line(model) -> str:
    """One line of the published-models list: name, kind, resolution, size, whether it is on disk."""
    return (f"{model.name}   {model.kind}, {model.resolution} px, {model.dataset}, ~{model.approx_mb} MB"
            f"{CACHED_TEXT[where_cached(model.url)]}")


class CheckpointPanel(Panel):
    title = "Checkpoint"
    default_open = True

    def __init__(self):
        self._was_loading = True  # so the first refresh sets the busy indicator
        self._browsed: dict[str, str] = {}  # file name -> path, for the folder list
        self._download_shown = False

    def build(self, ctx: PanelContext) -> None:
        file_dialog("open_checkpoint_dialog", "Open checkpoint", lambda p: self._open(ctx, p), CHECKPOINT_EXTENSIONS)
        file_dialog("browse_folder_dialog", "Browse a folder of checkpoints", lambda p: self.browse(ctx, p), (),
                    directory=True)
        with dpg.group(horizontal=True):
            dpg.add_button(label="Open... (Ctrl+O)", callback=lambda *_: dpg.show_item("open_checkpoint_dialog"))
            dpg.add_button(label="Browse folder...", callback=lambda *_: dpg.show_item("browse_folder_dialog"))
        with dpg.group(horizontal=True):  # a second row: four buttons do not fit the column's width
            dpg.add_button(label="Demo", tag="checkpoint_demo", callback=lambda *_: self._open(ctx, str(DEMO_CHECKPOINT)),
                           show=DEMO_CHECKPOINT.is_file())
            dpg.add_button(label="Published...", tag="checkpoint_published_button",
                           callback=lambda *_: self.show_published(ctx))
            with dpg.tooltip("checkpoint_published_button"):
                dpg.add_text("NVIDIA's published StyleGAN3 and StyleGAN2 models: a click downloads one once "
                             "(into the cache) and opens it")
            dpg.add_loading_indicator(tag="checkpoint_busy", style=1, radius=1.3, show=False)
        with dpg.group(horizontal=True):  # the recent list as a drop-down arrow beside the path it fills in
            dpg.add_input_text(tag="checkpoint_path", hint="path, URL or published name, Enter",
                               width=-80, on_enter=True, callback=lambda _s, value, _u: self._open(ctx, value))
            with dpg.tooltip("checkpoint_path"):  # the hint is short enough to fit the box
                dpg.add_text("Type or paste a checkpoint's path, a URL or a published model's name, then press Enter")
            dpg.add_combo(tag="checkpoint_recent", items=load_recent(), label="recent", no_preview=True,
                          callback=lambda _s, value, _u: self._open(ctx, value))
        with dpg.group(horizontal=True, tag="checkpoint_download", show=False):
            dpg.add_progress_bar(tag="checkpoint_download_bar", width=-70)
            dpg.add_button(label="Cancel", tag="checkpoint_download_cancel", callback=lambda *_: self.cancel_download(ctx))
        dpg.add_combo(tag="checkpoint_folder", items=[], label="folder", width=-60, show=False,
                      callback=lambda _s, value, _u: self._open(ctx, self._browsed[value]))
        dpg.add_text("nothing loaded", tag="checkpoint_label", wrap=0, color=(170, 170, 170))
        if ctx.state.browse_dir:
            self.browse(ctx, ctx.state.browse_dir)
        self._build_published_window(ctx)

    def _build_published_window(self, ctx: PanelContext) -> None:
        stack = []  # a window lives at the top level, not inside the panel
        while dpg.top_container_stack() is not None:
            stack.append(dpg.pop_container_stack())
        try:
            with dpg.window(label="NVIDIA's published models (downloaded once, then opened from the cache)",
                            tag="published_models_window", show=False, modal=True, width=760, height=480, pos=(40, 40)):
                dpg.add_text("Click a model to open it; one not yet downloaded is fetched first (progress and "
                             "Cancel in the Checkpoint panel). eqviz models lists the same.", wrap=720)
                dpg.add_child_window(tag="published_models_list", width=-1, height=-1)
        finally:
            for item in reversed(stack):
                dpg.push_container_stack(item)

    def show_published(self, ctx: PanelContext) -> None:
        """The list, one clickable row per model, with what is on disk now."""
        dpg.delete_item("published_models_list", children_only=True)
        for model in CATALOGUE:
            dpg.add_selectable(label=published_line(model), parent="published_models_list", user_data=model.name,
                               callback=lambda _s, _v, name: self.open_published(ctx, name))
        dpg.show_item("published_models_window")

    def open_published(self, ctx: PanelContext, name: str) -> None:
        dpg.hide_item("published_models_window")
        self._open(ctx, name)

    def cancel_download(self, ctx: PanelContext) -> None:
        if ctx.download is not None:
            ctx.download.cancel()

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
        ctx.open_checkpoint(path)

    def refresh(self, ctx: PanelContext) -> None:
        download = ctx.download
        if (download is not None) != self._download_shown:
            self._download_shown = download is not None
            dpg.configure_item("checkpoint_download", show=self._download_shown)
        if download is not None:
            dpg.set_value("checkpoint_download_bar", download.fraction)
            dpg.configure_item("checkpoint_download_bar", overlay=download.text or "connecting ...")
        loading = ctx.loading is not None
        if loading == self._was_loading:
            return
        self._was_loading = loading
        dpg.configure_item("checkpoint_busy", show=loading)

    def on_model_changed(self, ctx: PanelContext) -> None:
        m = ctx.model
        # The path box names what loaded; after a failed load it keeps what was typed, to correct.
        dpg.set_value("checkpoint_path", recent_entry(m.path) if m.path != "<in memory>" else "")
        dpg.set_value("checkpoint_label", f"{m.label}: {m.summary} (device and backend: Performance)")
        recent = load_recent()
        dpg.configure_item("checkpoint_recent", items=recent)
        loaded = recent_entry(m.path) if m.path != "<in memory>" else ""
        dpg.set_value("checkpoint_recent", loaded if loaded in recent else "")
        name = Path(m.path).name
        dpg.set_value("checkpoint_folder", name if self._browsed.get(name) == m.path else "")
