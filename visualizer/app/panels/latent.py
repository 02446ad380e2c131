"""Latent panel: seed (typed, dragged, fractional 2-D grid), animation, A<->B interpolation,
truncation, noise, style mixing, class, and W vectors loaded from / saved to .npy / .npz."""
from __future__ import annotations

import math
from pathlib import Path

import dearpygui.dearpygui as dpg

from eqviz.errors import EqvizError
from eqviz.app.panel import Panel, PanelContext
from eqviz.app.widgets import add_field_error, file_dialog, grey_when_disabled, set_if_changed, show_field_error
from eqviz.core.latents import load_w, mixed_layers, save_w
from eqviz.core.seeds import MAX_SEED
from eqviz.core.session import NOISE_MODES


MIX_LAYERS_PER_ROW = 9
# What a loaded W replaces: off (and grey) while one is loaded.
SEED_CONTROLS = ("latent_seed", "latent_seed_minus", "latent_seed_plus", "latent_x", "latent_y", "latent_animate",
                 "latent_b_on", "latent_seed_b", "latent_t", "latent_space")
W_NOTE = ("W from {name}: a final W, shown as it is (it replaces the seed and A<->B; psi and cutoff do "
          "not apply to it). Clear W returns to seeds.")


def clamp_mix_range(mix_range: tuple[int, int], num_ws: int) -> tuple[int, int]:
    """The [first, last) ws range inside this model's num_ws; a range that would take no layer
    (a 16-ws default on a model with fewer ws) becomes the second half, which changes the picture."""
    first, last = (min(max(int(v), 0), num_ws) for v in mix_range)
    if last <= first:
        first, last = num_ws // 2, num_ws
    return first, last


def add_seed_input(tag: str, default: int, on_seed, label: str = "", width: int = 110) -> None:
    """A seed box for NVIDIA's whole range, 0 to 2^32 - 1 (Dear PyGui's int box stops at 2^31 - 1 and
    wraps past it); `on_seed` gets the whole seed typed."""
    dpg.add_input_double(label=label, tag=tag, default_value=float(default), width=width, step=0, format="%.0f",
                         min_value=0, max_value=MAX_SEED, min_clamped=True, max_clamped=True,
                         callback=lambda _s, value, _u: on_seed(int(value)))


class LatentPanel(Panel):
    title = "Latent"
    default_open = True

    def __init__(self):
        self._revision = -1
        self._sg2 = False  # the loaded model has noise inputs
        self._narrowed = None  # (range asked for, range a smaller model cut it to), while that cut range stands

    def build(self, ctx: PanelContext) -> None:
        s = ctx.state.session
        self._build_seed(ctx, s)
        dpg.add_separator()
        self._build_truncation_noise_class(ctx, s)
        dpg.add_separator()
        self._build_interpolation(ctx, s)
        dpg.add_separator()
        self._build_style_mixing(ctx, s)
        dpg.add_separator()
        self._build_w_files(ctx)
        grey_when_disabled(*SEED_CONTROLS, "latent_snap", "latent_psi", "latent_cutoff_on", "latent_cutoff",
                           "latent_noise", "latent_noise_seed", "latent_noise_animate", "latent_class")

    def _build_seed(self, ctx: PanelContext, s) -> None:
        """Seed box with its own -/+ and snap, the fractional seed grid, the seed animation."""
        with dpg.group(horizontal=True):
            # Own -/+ buttons (not the box's): they step from the position shown, wherever an
            # animation or a drag has taken it since the box was last typed in.
            add_seed_input("latent_seed", s.seed, lambda v: self._seed(ctx, ctx.state.set_seed, v), label="seed")
            dpg.add_button(label="-", tag="latent_seed_minus", width=22,
                           callback=lambda *_: self._seed(ctx, ctx.state.step_seed, -1))
            dpg.add_button(label="+", tag="latent_seed_plus", width=22,
                           callback=lambda *_: self._seed(ctx, ctx.state.step_seed, +1))
            dpg.add_button(label="snap", tag="latent_snap", callback=lambda *_: self._seed(ctx, ctx.state.snap_seed))
        with dpg.group(horizontal=True):
            dpg.add_drag_float(label="x", tag="latent_x", default_value=s.latent_x, speed=0.01, width=110,
                               format="%.3f", callback=lambda _s, v, _u: self._edit(ctx, latent_x=v))
            dpg.add_drag_float(label="y (grid rows of 100)", tag="latent_y", default_value=s.latent_y, speed=0.01,
                               width=110, format="%.3f", callback=lambda _s, v, _u: self._edit(ctx, latent_y=v))
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="animate", tag="latent_animate",
                             callback=lambda _s, v, _u: self._anim(ctx, latent=v))
            dpg.add_drag_float(label="seeds/s", tag="latent_speed", default_value=ctx.state.anim.latent_speed,
                               speed=0.01, min_value=-20, max_value=20, width=90,
                               callback=lambda _s, v, _u: self._anim(ctx, latent_speed=v))

    def _build_truncation_noise_class(self, ctx: PanelContext, s) -> None:
        """psi and cutoff, StyleGAN2 noise mode, seed and animation, the class."""
        with dpg.group(horizontal=True):
            dpg.add_slider_float(label="psi", tag="latent_psi", default_value=s.psi, min_value=-1.0, max_value=2.0,
                                 width=150, callback=lambda _s, v, _u: self._edit(ctx, psi=v))
            dpg.add_checkbox(label="cutoff", tag="latent_cutoff_on", default_value=s.cutoff is not None,
                             callback=lambda _s, v, _u: self._edit(
                                 ctx, cutoff=dpg.get_value("latent_cutoff") if v else None))
            dpg.add_input_int(tag="latent_cutoff", default_value=s.cutoff or 8, width=80, min_value=0,
                              min_clamped=True, callback=lambda _s, v, _u: self._edit(
                                  ctx, cutoff=v) if dpg.get_value("latent_cutoff_on") else None)
        with dpg.group(horizontal=True):
            dpg.add_combo(NOISE_MODES, label="noise", tag="latent_noise", default_value=s.noise_mode,
                          width=80, callback=lambda _s, v, _u: self._edit(ctx, noise_mode=v))
            add_seed_input("latent_noise_seed", s.noise_seed, lambda v: self._set_noise_seed(ctx, v), label="seed",
                           width=90)
            dpg.add_checkbox(label="animate", tag="latent_noise_animate",
                             callback=lambda _s, v, _u: self._anim(ctx, noise=v))
            with dpg.tooltip("latent_noise_animate"):
                dpg.add_text("StyleGAN2 'random' noise: a new noise seed several times a second")
        with dpg.group(horizontal=True):
            dpg.add_input_int(label="class", tag="latent_class", default_value=0, width=100,
                              callback=lambda _s, v, _u: self._set_class(ctx, v))
            dpg.add_text("", tag="latent_class_note", color=(150, 150, 150))
        add_field_error("latent_class")

    def _build_interpolation(self, ctx: PanelContext, s) -> None:
        """A<->B interpolation to a second seed, lerp in W or slerp in Z."""
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="A<->B to seed", tag="latent_b_on", default_value=s.seed_b is not None,
                             callback=lambda _s, v, _u: self._edit(
                                 ctx, seed_b=int(dpg.get_value("latent_seed_b")) if v else None))
            add_seed_input("latent_seed_b", s.seed_b if s.seed_b is not None else 1,
                           lambda v: self._edit(ctx, seed_b=v) if dpg.get_value("latent_b_on") else None)
        with dpg.group(horizontal=True):
            dpg.add_slider_float(label="t", tag="latent_t", default_value=s.interp_t, min_value=0.0, max_value=1.0,
                                 width=200, callback=lambda _s, v, _u: self._edit(ctx, interp_t=v))
            dpg.add_radio_button(("lerp W", "slerp Z"), tag="latent_space", horizontal=True,
                                 default_value="lerp W" if s.interp_space == "w" else "slerp Z",
                                 callback=lambda _s, v, _u: self._edit(ctx, interp_space="w" if v == "lerp W" else "z"))

    def _build_style_mixing(self, ctx: PanelContext, s) -> None:
        """Style mixing from a seed over a ws range or per-layer checkboxes (made when a model loads)."""
        with dpg.group(horizontal=True):
            dpg.add_checkbox(label="mix styles from seed", tag="latent_mix_on", default_value=s.mix_seed is not None,
                             callback=lambda _s, v, _u: self._edit(
                                 ctx, mix_seed=int(dpg.get_value("latent_mix_seed")) if v else None))
            add_seed_input("latent_mix_seed", s.mix_seed if s.mix_seed is not None else 1,
                           lambda v: self._edit(ctx, mix_seed=v) if dpg.get_value("latent_mix_on") else None)
        dpg.add_drag_intx(label="ws layers [first, last)", tag="latent_mix_range", size=2, width=160,
                          default_value=list(s.mix_range), min_value=0, max_value=64,
                          callback=lambda _s, v, _u: self._set_mix_range(ctx, v))
        dpg.add_group(tag="latent_mix_layers")  # one checkbox per ws layer, made when a model loads

    def _build_w_files(self, ctx: PanelContext) -> None:
        """W vectors loaded and saved (.npz / .npy), and projecting an image into W."""
        file_dialog("load_w_dialog", "Load W vector", lambda p: self._load_w(ctx, p), (".npz", ".npy", ".*"))
        file_dialog("save_w_dialog", "Save W vector", lambda p: self._save_w(ctx, p), (".npz", ".npy"),
                    default_filename="w.npz")

        with dpg.group(horizontal=True):
            dpg.add_button(label="Load W...", callback=lambda *_: dpg.show_item("load_w_dialog"))
            dpg.add_button(label="Clear W", tag="latent_clear_w", callback=lambda *_: self._edit(ctx, w_path=None))
            dpg.add_button(label="Save W...", callback=lambda *_: dpg.show_item("save_w_dialog"))
            # The Project image panel's dialog: the chosen image is projected and its W becomes the current one.
            dpg.add_button(label="Project image...", tag="latent_project",
                           callback=lambda *_: dpg.show_item("proj_pick_and_project_dialog"))
        dpg.add_text("", tag="latent_w_note", color=(150, 150, 150), wrap=0, show=False)

    # -- edits ------------------------------------------------------------------------------------
    def _edit(self, ctx: PanelContext, **changes) -> None:
        for name, value in changes.items():
            setattr(ctx.state.session, name, value)
        ctx.state.touch()
        ctx.request_render()

    def _anim(self, ctx: PanelContext, **changes) -> None:
        for name, value in changes.items():
            setattr(ctx.state.anim, name, value)
        ctx.state.touch()

    def _set_class(self, ctx: PanelContext, value: int) -> None:
        """A class outside the model's is refused beside the box (not clamped to the nearest one)."""
        c_dim = ctx.model.c_dim if ctx.model is not None else 0
        if not 0 <= value < c_dim:
            show_field_error("latent_class", f"class {value} is out of range: this model has classes 0 to "
                                             f"{c_dim - 1} (still showing class {ctx.state.session.class_idx})")
            return
        show_field_error("latent_class", None)
        self._edit(ctx, class_idx=value)

    def _set_noise_seed(self, ctx: PanelContext, seed: int) -> None:
        ctx.state.anim.noise_position = float(seed)  # an animation goes on from the typed seed
        self._edit(ctx, noise_seed=int(seed))

    def _seed(self, ctx: PanelContext, edit, *args) -> None:
        edit(*args)
        ctx.request_render()

    def _set_mix_range(self, ctx: PanelContext, value) -> None:
        num_ws = ctx.model.num_ws if ctx.model else max(int(value[1]), 1)
        first, last = min(max(int(value[0]), 0), num_ws), min(max(int(value[1]), 0), num_ws)
        self._narrowed = None  # the user's own range: a larger model keeps it as it is
        self._edit(ctx, mix_range=(first, max(first, last)), mix_layers=None)

    def _toggle_mix_layer(self, ctx: PanelContext, index: int, on: bool) -> None:
        layers = set(mixed_layers(ctx.state.session, ctx.model.num_ws))
        layers = layers | {index} if on else layers - {index}
        self._edit(ctx, mix_layers=tuple(sorted(layers)))

    def _build_mix_layers(self, ctx: PanelContext, num_ws: int) -> None:
        """One checkbox per ws layer (rows of MIX_LAYERS_PER_ROW), checked where the mix seed applies."""
        dpg.delete_item("latent_mix_layers", children_only=True)
        for start in range(0, num_ws, MIX_LAYERS_PER_ROW):
            with dpg.group(horizontal=True, parent="latent_mix_layers"):
                if start == 0:
                    dpg.add_text("layers", color=(150, 150, 150))
                else:
                    dpg.add_spacer(width=42)
                for i in range(start, min(start + MIX_LAYERS_PER_ROW, num_ws)):
                    box = dpg.add_checkbox(tag=f"latent_mix_layer_{i}", user_data=i,
                                           callback=lambda _s, v, u: self._toggle_mix_layer(ctx, u, v))
                    with dpg.tooltip(box):
                        dpg.add_text(f"ws {i}: from the mix seed when checked")

    def _load_w(self, ctx: PanelContext, path: str) -> None:
        G = ctx.generator()
        if G is None:
            ctx.set_status("load a checkpoint first", error=True)
            return
        try:
            load_w(path, G)  # read now: a W that does not fit this model is refused, the latent kept
        except EqvizError as exc:
            ctx.set_status(f"{exc}; the latent stays as it was", error=True)
            return
        self._edit(ctx, w_path=path)
        ctx.set_status(f"using the final W vector {path}; psi does not apply to it; Clear W returns to seeds")

    def _save_w(self, ctx: PanelContext, path: str) -> None:
        result = ctx.last_result
        if result is None or result.ws is None:
            ctx.set_status("nothing rendered yet: there is no W vector to save", error=True)
            return
        try:
            save_w(path, result.ws)
        except (EqvizError, OSError) as exc:
            ctx.set_status(f"could not save W vector: {exc}", error=True)
            return
        ctx.set_status(f"saved W vector {list(result.ws.shape)} to {path}")

    # -- mirror -----------------------------------------------------------------------------------
    def on_model_changed(self, ctx: PanelContext) -> None:
        m = ctx.model
        sg2 = m.kind == "stylegan2"
        dpg.configure_item("latent_noise", enabled=sg2)  # StyleGAN3 has no noise inputs
        self._sg2 = sg2
        if not sg2:
            ctx.state.anim.noise = False
        conditional = m.c_dim > 0
        dpg.configure_item("latent_class", enabled=conditional)
        show_field_error("latent_class", None)
        session = ctx.state.session
        if conditional and (session.class_idx is None or session.class_idx >= m.c_dim):
            session.class_idx = 0
        if not conditional:
            session.class_idx = None
        dpg.set_value("latent_class_note", f"of {m.c_dim}" if conditional else "unconditional model")
        dpg.configure_item("latent_mix_range", max_value=m.num_ws)
        wanted = tuple(session.mix_range)
        if self._narrowed is not None and wanted == self._narrowed[1]:
            wanted = self._narrowed[0]  # untouched since a smaller model cut it: the next model gets what was asked
        session.mix_range = clamp_mix_range(wanted, m.num_ws)
        self._narrowed = (wanted, session.mix_range) if session.mix_range != wanted else None
        self._build_mix_layers(ctx, m.num_ws)
        dpg.configure_item("latent_cutoff", max_value=m.num_ws, max_clamped=True)
        self._revision = -1

    def refresh(self, ctx: PanelContext) -> None:
        state = ctx.state
        if state.revision == self._revision:
            return
        self._revision = state.revision
        s = state.session
        set_if_changed("latent_seed", s.seed)
        whole = math.floor(s.latent_x) == s.latent_x and math.floor(s.latent_y) == s.latent_y
        seeds = s.w_path is None  # a loaded W replaces the seed, its steps, animation and A<->B
        for tag in SEED_CONTROLS:
            dpg.configure_item(tag, enabled=seeds)
        dpg.configure_item("latent_snap", enabled=seeds and not whole)
        set_if_changed("latent_x", s.latent_x)
        set_if_changed("latent_y", s.latent_y)
        set_if_changed("latent_animate", state.anim.latent)
        set_if_changed("latent_psi", s.psi)
        set_if_changed("latent_cutoff_on", s.cutoff is not None)
        set_if_changed("latent_noise", s.noise_mode)
        set_if_changed("latent_noise_seed", s.noise_seed)
        set_if_changed("latent_noise_animate", state.anim.noise)
        for tag in ("latent_noise_seed", "latent_noise_animate"):  # the seed matters for 'random' noise only
            dpg.configure_item(tag, enabled=self._sg2 and s.noise_mode == "random")
        if s.class_idx is not None:
            set_if_changed("latent_class", s.class_idx)
        set_if_changed("latent_b_on", s.seed_b is not None)
        set_if_changed("latent_t", s.interp_t)
        set_if_changed("latent_mix_on", s.mix_seed is not None)
        dpg.set_value("latent_w_note", W_NOTE.format(name=Path(s.w_path).name) if s.w_path else "")
        dpg.configure_item("latent_w_note", show=s.w_path is not None)
        for tag in ("latent_psi", "latent_cutoff_on", "latent_cutoff"):
            dpg.configure_item(tag, enabled=s.w_path is None)
        set_if_changed("latent_mix_range", [*s.mix_range, 0, 0])
        if ctx.model is not None:
            chosen = set(mixed_layers(s, ctx.model.num_ws))
            for i in range(ctx.model.num_ws):
                set_if_changed(f"latent_mix_layer_{i}", i in chosen)
