"""Directions panel: SeFa or GANSpace directions of the loaded model (computed in the background and
cached on disk per model), or imported ones; a slider, a number and a ws range per direction, whose
edits live in the session (so saving it, `eqviz render --session` and videos reproduce them)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.app.job_panel import JobPanel
from eqviz.app.panel import PanelContext
from eqviz.app.widgets import add_field_error, file_dialog, set_if_changed, show_field_error
from eqviz.core.images import rgba
from eqviz.directions.cache import cached_or_computed
from eqviz.directions.edits import edit_from
from eqviz.directions.layers import check_layers, format_layer_range, parse_layer_range
from eqviz.errors import EqvizError

METHODS = {"SeFa": "sefa", "GANSpace": "ganspace"}
NUM_SHOWN = 20          # directions listed
ALPHA_RANGE = 5.0       # slider span, in standard deviations of W (the number field takes any value)
SHEET_STRENGTH, SHEET_STEPS, SHEET_ROWS = 3.0, 5, 5
PREVIEW_WIDTH = 400     # screen pixels of the exported sheet's preview


class DirectionsPanel(JobPanel):
    title = "Directions"
    default_open = False
    job_name = "directions"
    tag_prefix = "dir"
    run_label = "Compute"

    def __init__(self):
        super().__init__()
        self.directions = None   # the Directions listed
        self.alphas: list[float] = []
        self.layers: list[tuple[int, int]] = []
        self.own: list = []      # the Edits this panel put into the session
        self._seen_revision = -1
        self._sheet_texture = None
        self._sheet_array = None  # dpg keeps a pointer into it

    def build(self, ctx: PanelContext) -> None:
        dpg.add_text("Move the picture along directions in W. Strength in standard deviations of W "
                     "along the direction; ws range per direction (A-B, both included).", wrap=0)
        with dpg.group(horizontal=True):
            dpg.add_combo(list(METHODS), tag="dir_method", default_value="SeFa", width=100)
            dpg.add_input_int(label="GANSpace samples", tag="dir_samples", default_value=100_000, min_value=1000,
                              max_value=10_000_000, min_clamped=True, max_clamped=True, width=110, step=0)
        self.build_job_controls(ctx)
        with dpg.group(horizontal=True):
            dpg.add_button(label="Import...", tag="dir_import", callback=lambda *_: dpg.show_item("dir_import_dialog"))
            dpg.add_button(label="Save directions...", tag="dir_save", callback=lambda *_: self._ask(ctx, "dir_save_dialog"))
        with dpg.group(horizontal=True):  # two rows: four buttons do not fit the column's width
            dpg.add_button(label="Save edits...", tag="dir_save_edits", callback=lambda *_: dpg.show_item("dir_edits_dialog"))
            dpg.add_button(label="Export sheet...", tag="dir_sheet", callback=lambda *_: self._ask(ctx, "dir_sheet_dialog"))
        with dpg.group(horizontal=True):
            dpg.add_button(label="Reset all", tag="dir_reset_all", callback=lambda *_: self.reset_all(ctx))
            dpg.add_text("", tag="dir_info")
        dpg.add_group(tag="dir_rows")
        dpg.add_group(tag="dir_sheet_group")
        file_dialog("dir_import_dialog", "Import directions (.npz from eqviz, .npy vectors)",
                    lambda path: self.import_file(ctx, path), (".npz", ".npy"))
        file_dialog("dir_save_dialog", "Save directions", lambda path: self.save_directions(ctx, path), (".npz",),
                    default_filename="directions.npz")
        file_dialog("dir_edits_dialog", "Save the session with its edits", lambda path: self.save_edits(ctx, path),
                    (".json",), default_filename="edits.json")
        file_dialog("dir_sheet_dialog", "Export a direction sheet", lambda path: self.export_sheet(ctx, path), (".png",),
                    default_filename="directions_sheet.png")

    def _ask(self, ctx: PanelContext, dialog: str) -> None:
        if self.directions is None:
            ctx.set_status("compute or import directions first", error=True)
            return
        dpg.show_item(dialog)

    # -- jobs -----------------------------------------------------------------------------------
    def run(self, ctx: PanelContext) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        method = METHODS[dpg.get_value("dir_method")]
        samples = int(dpg.get_value("dir_samples"))
        G = ctx.generator()

        def job(handle):
            progress = lambda done, total: handle.report(done, total, f"{done}/{total} samples")
            return "directions", cached_or_computed(G, method, NUM_SHOWN, samples, progress, handle.cancelled)

        about = dpg.get_value("dir_method") + (f" over {samples:,} samples" if method == "ganspace" else "")
        self.start(ctx, job, f"computing {dpg.get_value('dir_method')} directions ...", about=about)

    def import_file(self, ctx: PanelContext, path: str) -> None:
        if ctx.model is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        from eqviz.directions.files import load_directions

        G = ctx.generator()
        self.start(ctx, lambda handle: ("directions", (load_directions(path, G), False)), f"importing {path} ...",
                   about=f"imported {Path(path).name}")

    def export_sheet(self, ctx: PanelContext, path: str) -> None:
        from eqviz.atomic_io import save_png
        from eqviz.directions.sheet import direction_sheet

        G, directions = ctx.generator(), self.directions
        active = [k for k, a in enumerate(self.alphas) if a != 0] or list(range(min(SHEET_ROWS, len(directions))))
        layers = {k: self.layers[k] for k in active}  # each row on its own ws range, as the sliders edit
        session = dataclasses.replace(ctx.state.session, edits=[e for e in ctx.state.session.edits if e not in self.own])
        device = ctx.model.device

        def body(handle):
            img = direction_sheet(G, directions, active, [session.seed], SHEET_STRENGTH, SHEET_STEPS, session=session,
                                  device=device, cancel=handle.cancelled, layers=layers,
                                  progress=lambda done, total: handle.report(done, total, f"row {done}/{total}"))
            save_png(path, img)
            return "sheet", (path, img)

        ranges = ", ".join(f"{directions.label(k)} ws {format_layer_range(layers[k])}" for k in active)
        self.start(ctx, body, f"rendering a direction sheet of {len(active)} directions ...",
                   about=f"sheet of seed {session.seed}: {ranges}")

    def show_result(self, ctx: PanelContext, result, complete: bool) -> None:
        kind, value = result
        if kind == "sheet":
            path, img = value
            self._show_sheet(img)
            ctx.set_status(f"saved direction sheet {path}")
            return
        directions, cached = value
        self._drop_own(ctx)
        self.directions = directions
        self.alphas = [0.0] * len(directions)
        self.layers = [directions.layers] * len(directions)
        self._build_rows(ctx)
        ctx.set_status(f"{len(directions)} {directions.method} directions" + (" (from the cache)" if cached else ""))

    # -- rows -----------------------------------------------------------------------------------
    def _build_rows(self, ctx: PanelContext) -> None:
        dpg.delete_item("dir_rows", children_only=True)
        for k in range(min(NUM_SHOWN, len(self.directions))):
            with dpg.group(horizontal=True, parent="dir_rows"):
                dpg.add_text(f"{self.directions.label(k):12s}")
                dpg.add_slider_float(tag=f"dir_alpha_{k}", min_value=-ALPHA_RANGE, max_value=ALPHA_RANGE, width=110,
                                     format="%.2f", user_data=k, callback=lambda _s, a, k: self.set_alpha(ctx, k, a))
                dpg.add_input_float(tag=f"dir_value_{k}", width=55, step=0, format="%.2f", on_enter=True, user_data=k,
                                    callback=lambda _s, a, k: self.set_alpha(ctx, k, a))
                dpg.add_input_text(tag=f"dir_layers_{k}", width=50, default_value=format_layer_range(self.layers[k]),
                                   on_enter=True, user_data=k, callback=lambda _s, text, k: self.set_layers(ctx, k, text))
                dpg.add_button(label="reset", tag=f"dir_reset_{k}", user_data=k,
                               callback=lambda _s, _a, k: self.set_alpha(ctx, k, 0.0))
            add_field_error(f"dir_layers_{k}", parent="dir_rows")
        self._show_info(ctx)

    def set_alpha(self, ctx: PanelContext, k: int, alpha: float) -> None:
        self.alphas[k] = float(alpha)
        set_if_changed(f"dir_alpha_{k}", float(alpha))
        set_if_changed(f"dir_value_{k}", float(alpha))
        self._apply(ctx)

    def set_layers(self, ctx: PanelContext, k: int, text: str) -> None:
        """A typed ws range; one the model cannot take stays in the box with the reason under it (the
        direction keeps its last good range) until a good one is entered."""
        try:
            self.layers[k] = check_layers(ctx.generator(), parse_layer_range(text))
        except EqvizError as exc:
            show_field_error(f"dir_layers_{k}", f"{self.directions.label(k)}: {exc} (still using ws "
                                                f"{format_layer_range(self.layers[k])})")
            return
        show_field_error(f"dir_layers_{k}", None)
        dpg.set_value(f"dir_layers_{k}", format_layer_range(self.layers[k]))
        self._apply(ctx)

    def reset_all(self, ctx: PanelContext) -> None:
        """Every edit off, a loaded session's too (they may belong to another model)."""
        for k in range(len(self.alphas)):
            self.alphas[k] = 0.0
            set_if_changed(f"dir_alpha_{k}", 0.0)
            set_if_changed(f"dir_value_{k}", 0.0)
        self.own = []
        ctx.state.session.edits = []
        ctx.state.touch()
        self._seen_revision = ctx.state.revision
        set_if_changed("dir_info", "")
        ctx.request_render()

    def _apply(self, ctx: PanelContext) -> None:
        """The session's edits: those it had from elsewhere (a loaded session) plus this panel's."""
        session = ctx.state.session
        others = [edit for edit in session.edits if edit not in self.own]
        self.own = [edit_from(self.directions, k, a, self.layers[k]) for k, a in enumerate(self.alphas) if a != 0]
        session.edits = others + self.own
        ctx.state.touch()
        self._seen_revision = ctx.state.revision
        self._show_info(ctx)
        ctx.request_render()

    def _drop_own(self, ctx: PanelContext) -> None:
        if self.own:
            ctx.state.session.edits = [edit for edit in ctx.state.session.edits if edit not in self.own]
            self.own = []
            ctx.state.touch()
            ctx.request_render()

    def _show_info(self, ctx: PanelContext) -> None:
        others = len(ctx.state.session.edits) - len(self.own)
        text = f"{len(self.own)} active" + (f", {others} from the loaded session" if others else "")
        set_if_changed("dir_info", text)

    def _show_sheet(self, img) -> None:
        """The exported sheet as a preview under the list (one texture, replaced by the next sheet)."""
        dpg.delete_item("dir_sheet_group", children_only=True)
        if self._sheet_texture is not None:
            dpg.delete_item(self._sheet_texture)
        self._sheet_array = rgba(img)
        h, w = img.shape[:2]
        self._sheet_texture = dpg.add_raw_texture(w, h, self._sheet_array, format=dpg.mvFormat_Float_rgba, parent="textures")
        scale = min(1.0, PREVIEW_WIDTH / w)
        dpg.add_image(self._sheet_texture, tag="dir_sheet_image", width=int(w * scale), height=int(h * scale),
                      parent="dir_sheet_group")

    # -- files ----------------------------------------------------------------------------------
    def save_directions(self, ctx: PanelContext, path: str) -> None:
        from eqviz.directions.files import save_directions

        try:
            save_directions(path, self.directions)
            ctx.set_status(f"saved {path}")
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)

    def save_edits(self, ctx: PanelContext, path: str) -> None:
        """The whole session, edits included: `eqviz render --session` and `eqviz video --session` replay it."""
        try:
            ctx.state.session_for_saving().save(path)
            ctx.set_status(f"saved the session with {len(ctx.state.session.edits)} edit(s) to {path}")
        except EqvizError as exc:
            ctx.set_status(str(exc), error=True)

    # -- app events -----------------------------------------------------------------------------
    def clear_result(self, ctx: PanelContext) -> None:
        """A new run: the previous sheet goes (the listed directions stay until new ones arrive)."""
        dpg.delete_item("dir_sheet_group", children_only=True)
        if self._sheet_texture is not None:
            dpg.delete_item(self._sheet_texture)
            self._sheet_texture = self._sheet_array = None

    def forget_model(self, ctx: PanelContext) -> None:
        """Directions belong to one model: a new checkpoint clears the list and this panel's edits."""
        super().forget_model(ctx)
        self._drop_own(ctx)
        self.directions, self.alphas, self.layers = None, [], []
        dpg.delete_item("dir_rows", children_only=True)
        set_if_changed("dir_info", "")

    def refresh(self, ctx: PanelContext) -> None:
        super().refresh(ctx)
        if ctx.state.revision == self._seen_revision:
            return
        self._seen_revision = ctx.state.revision
        if self.own and not all(edit in ctx.state.session.edits for edit in self.own):
            self.own = []  # a loaded session replaced the edits: the sliders follow it
            for k in range(len(self.alphas)):
                self.alphas[k] = 0.0
                set_if_changed(f"dir_alpha_{k}", 0.0)
                set_if_changed(f"dir_value_{k}", 0.0)
        self._show_info(ctx)
