"""Transform panel (StyleGAN3): translate / rotate the generator's input, animate, untransform."""
from __future__ import annotations

import dearpygui.dearpygui as dpg

from eqviz.app.panel import Panel, PanelContext
from eqviz.app.widgets import set_if_changed

SG2_NOTE = ("This StyleGAN2 generator has no input transform: its image cannot be translated or rotated "
            "from the input, which is why equivariance is only defined for StyleGAN3.")


class TransformPanel(Panel):
    title = "Transform (StyleGAN3)"
    default_open = True

    def __init__(self):
        self._revision = -1

    def build(self, ctx: PanelContext) -> None:
        dpg.add_text(SG2_NOTE, tag="transform_sg2_note", wrap=0, show=False, color=(230, 190, 120))
        with dpg.group(tag="transform_controls"):
            with dpg.group(horizontal=True):
                dpg.add_slider_float(label="x", tag="transform_tx", min_value=-1.0, max_value=1.0, width=150,
                                     format="%.4f", callback=lambda _s, v, _u: self._translate(ctx, x=v))
                dpg.add_slider_float(label="y translate", tag="transform_ty", min_value=-1.0, max_value=1.0,
                                     width=150, format="%.4f", callback=lambda _s, v, _u: self._translate(ctx, y=v))
            dpg.add_slider_float(label="rotate (deg)", tag="transform_rot", min_value=-180.0, max_value=180.0,
                                 width=150, format="%.2f", callback=lambda _s, v, _u: self._rotate(ctx, v))
            with dpg.group(horizontal=True):
                dpg.add_checkbox(label="circle", tag="transform_anim_t",
                                 callback=lambda _s, v, _u: self._anim(ctx, translate=v))
                dpg.add_drag_float(label="turns/s", tag="transform_speed_t", default_value=ctx.state.anim.translate_speed,
                                   speed=0.005, min_value=-5, max_value=5, width=70,
                                   callback=lambda _s, v, _u: self._anim(ctx, translate_speed=v))
                dpg.add_drag_float(label="radius", tag="transform_radius", default_value=ctx.state.anim.translate_radius,
                                   speed=0.005, min_value=0, max_value=1, width=70,
                                   callback=lambda _s, v, _u: self._anim(ctx, translate_radius=v))
            with dpg.group(horizontal=True):
                dpg.add_checkbox(label="spin", tag="transform_anim_r",
                                 callback=lambda _s, v, _u: self._anim(ctx, rotate=v))
                dpg.add_drag_float(label="deg/s", tag="transform_speed_r", default_value=ctx.state.anim.rotate_speed,
                                   speed=0.5, min_value=-720, max_value=720, width=70,
                                   callback=lambda _s, v, _u: self._anim(ctx, rotate_speed=v))
                dpg.add_checkbox(label="whole pixels", tag="transform_round",
                                 callback=lambda _s, v, _u: self._round(ctx, v))
            with dpg.group(horizontal=True):
                dpg.add_checkbox(label="untransform (equivariant: stands still)", tag="transform_untransform",
                                 callback=lambda _s, v, _u: self._untransform(ctx, v))
                dpg.add_button(label="Reset (R)", tag="transform_reset", callback=lambda *_: self._reset(ctx))

    def _translate(self, ctx: PanelContext, x=None, y=None) -> None:
        tx, ty = ctx.state.session.translate
        ctx.state.set_translate(tx if x is None else x, ty if y is None else y)
        ctx.request_render()

    def _rotate(self, ctx: PanelContext, degrees: float) -> None:
        ctx.state.set_rotate(degrees)
        ctx.request_render()

    def _anim(self, ctx: PanelContext, **changes) -> None:
        for name, value in changes.items():
            setattr(ctx.state.anim, name, value)
        ctx.state.touch()

    def _round(self, ctx: PanelContext, on: bool) -> None:
        ctx.state.anim.round_to_pixels = on
        self._translate(ctx)  # snap the current value right away

    def _untransform(self, ctx: PanelContext, on: bool) -> None:
        ctx.state.session.untransform = on
        ctx.state.touch()
        ctx.request_render()

    def _reset(self, ctx: PanelContext) -> None:
        ctx.state.reset_transform()
        ctx.request_render()

    def on_model_changed(self, ctx: PanelContext) -> None:
        supported = ctx.model.supports_input_transform
        dpg.configure_item("transform_sg2_note", show=not supported)
        dpg.configure_item("transform_controls", show=supported)
        self._revision = -1  # the app reset the transform of a model without an input transform

    def refresh(self, ctx: PanelContext) -> None:
        state = ctx.state
        if state.revision == self._revision:
            return
        self._revision = state.revision
        s = state.session
        set_if_changed("transform_tx", s.translate[0])
        set_if_changed("transform_ty", s.translate[1])
        set_if_changed("transform_rot", s.rotate_deg)
        set_if_changed("transform_anim_t", state.anim.translate)
        set_if_changed("transform_anim_r", state.anim.rotate)
        set_if_changed("transform_round", state.anim.round_to_pixels)
        set_if_changed("transform_untransform", s.untransform)
