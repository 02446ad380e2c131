"""Keyboard shortcuts and the help window that lists them and the less obvious controls (one table
each, so the window and the app never disagree).

Modifiers come from the key events themselves, not from polling the keyboard when a callback runs:
a quick Shift+Q is over (Shift released) by then. Dear PyGui reports Shift and Ctrl as key presses
and releases like any key; `KeyEvents` collects one UI frame's events and gives each other key the
modifiers held in that frame.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from eqviz.app.widgets import dialog_open

if TYPE_CHECKING:
    from eqviz.app.app import App

ROTATE_STEP_DEG = 1.0
BIG_STEP = 10  # Shift multiplies the arrow / Q / E steps

# (keys as shown, what it does) -- the help window shows exactly this.
SHORTCUTS = (
    ("Left / Right / Up / Down", "translate by one output pixel (Shift: 10 pixels)"),
    ("Q / E", f"rotate by {ROTATE_STEP_DEG:g} degree counter-clockwise / clockwise (Shift: {BIG_STEP:g})"),
    ("Space", "pause / resume the animations (starts the seed animation when none is set); with the "
              "Keyframes panel open: play / pause its timeline"),
    ("K", "add the current state as a keyframe at the playhead (Keyframes panel)"),
    ("Home / End", "jump to the first / last keyframe"),
    ("R", "reset translation and rotation"),
    ("Ctrl+O", "open a checkpoint"),
    ("Ctrl+S", "save the current image at full resolution"),
    ("F1", "show / hide this help"),
    ("Mouse: left drag on image", "move through the seed grid (fractional seeds, blended in W)"),
    ("Mouse: Shift + left drag", "translate (StyleGAN3; drag speed in the View panel)"),
    ("Mouse: Ctrl + left drag", "rotate (StyleGAN3; drag speed in the View panel)"),
    ("Mouse: wheel / right or middle drag", "zoom (ends fit to window) / pan"),
)
# Shortcuts act only while no text field or file dialog has the keyboard.

# (panel, control and what it does) -- the help window's second table.
CONTROLS = (
    ("Checkpoint", "Browse folder... (or --browse-dir DIR): list a folder's .pkl / .safetensors beside the "
                   "recent list; dialogs open in the checkpoint's folder or the last one used"),
    ("Latent", "seed - / +: the previous / next whole seed from the position shown; snap: the nearest whole seed"),
    ("Latent", "noise seed and animate (StyleGAN2, 'random' noise): the same noise on every re-render, new "
               "noise only for a new seed"),
    ("Latent", "style mixing: the layers range and one checkbox per ws layer (taken from the mix seed)"),
    ("Latent", "Load W: a final W (saved by eqviz or NVIDIA's projector), shown as it is; psi does not apply"),
    ("View", "fit to window (default; refits on resize and with the error map), pixel-exact zoom, drag speed"),
    ("View", "layer views: mean / std / max table (all channels and the shown one), brightness in dB, "
             "FFT range and Kaiser beta"),
    ("Keyframes", "click a keyframe's number to jump there, type a time to move it; the time slider shows the "
                  "interpolated frame; Record turns what you change live into keyframes; each model keeps its own list"),
    ("Performance", "UI fps limit and vsync (the window sleeps when nothing moves)"),
)

_TEXT_INPUTS = ("mvAppItemType::mvInputText", "mvAppItemType::mvInputInt", "mvAppItemType::mvInputFloat",
                "mvAppItemType::mvInputDouble")


def typing() -> bool:
    """True while a text or number field or a file dialog has the keyboard, so typing 'q' there
    does not rotate (a file dialog's name box is ImGui's own, not an item we could ask)."""
    if dialog_open():
        return True
    for item in dpg.get_all_items():
        if dpg.get_item_type(item) in _TEXT_INPUTS and dpg.is_item_active(item):
            return True
    return False


SHIFT_KEYS = (dpg.mvKey_LShift, dpg.mvKey_RShift)
CTRL_KEYS = (dpg.mvKey_LControl, dpg.mvKey_RControl)
# ImGui also reports its own modifier keys beside Shift and Ctrl, under codes Dear PyGui has no name for:
# presses of keys it does not name are no shortcut and take no modifier.
NAMED_KEYS = frozenset(getattr(dpg, name) for name in dir(dpg) if name.startswith("mvKey_"))


class KeyEvents:
    """Key presses and releases of one UI frame, turned into (key, shift, ctrl) presses."""

    def __init__(self):
        self._events: list[tuple[bool, int]] = []  # (pressed, key) in the order Dear PyGui reported them
        self._held: set[int] = set()               # modifier keys down after the last frame
        self._unused: set[int] = set()             # of those, ones pressed since the last other key

    def pressed(self, key: int) -> None:
        self._events.append((True, int(key)))

    def released(self, key: int) -> None:
        self._events.append((False, int(key)))

    def take(self) -> list[tuple[int, bool, bool]]:
        """The frame's presses of other keys, each with the Shift and Ctrl held as it was pressed. Dear
        PyGui takes at most one change per key per frame and lists a frame's events by key code, not
        by time. A modifier pressed in the frame came before the key it modifies. One released in the
        frame modifies the frame's key only if no key took it yet: in a quick Shift+E the release of
        Shift can share a frame with E (E's own release waits for the next frame), while in Shift+Q
        then E, Shift went with Q and is released before E."""
        events, self._events = self._events, []
        modifiers = SHIFT_KEYS + CTRL_KEYS
        down = {key for pressed, key in events if pressed and key in modifiers}
        up = {key for pressed, key in events if not pressed}
        self._held |= down
        self._unused |= down
        applies = (self._held - up) | (self._unused & up)
        self._held -= up
        shift, ctrl = bool(applies & set(SHIFT_KEYS)), bool(applies & set(CTRL_KEYS))
        presses = [(key, shift, ctrl) for pressed, key in events
                   if pressed and key not in modifiers and key in NAMED_KEYS]
        self._unused = set() if presses else self._unused & self._held
        return presses


def handle_key(app: "App", key: int, shift: bool, ctrl: bool) -> None:
    state = app.state
    step = BIG_STEP if shift else 1
    can_transform = app.model is not None and app.model.supports_input_transform
    pixel = 1.0 / max(state.resolution, 1)
    if ctrl and key == dpg.mvKey_O:
        dpg.show_item("open_checkpoint_dialog")
    elif ctrl and key == dpg.mvKey_S:
        from eqviz.app.capture import save_current_image
        save_current_image(app)
    elif ctrl:
        return
    elif key == dpg.mvKey_F1:
        dpg.configure_item("help_window", show=not dpg.is_item_shown("help_window"))
    elif any(panel.on_key(app, key) for panel in app.panels):  # K, Home, End; Space on an open Keyframes panel
        pass
    elif key == dpg.mvKey_Spacebar:
        state.toggle_animation()
    elif key == dpg.mvKey_R:
        state.reset_transform()
    elif key in (dpg.mvKey_Left, dpg.mvKey_Right, dpg.mvKey_Up, dpg.mvKey_Down) and can_transform:
        dx = {dpg.mvKey_Left: -1, dpg.mvKey_Right: 1}.get(key, 0) * step * pixel
        dy = {dpg.mvKey_Up: -1, dpg.mvKey_Down: 1}.get(key, 0) * step * pixel
        tx, ty = state.session.translate
        state.set_translate(tx + dx, ty + dy)
    elif key in (dpg.mvKey_Q, dpg.mvKey_E) and can_transform:
        sign = 1 if key == dpg.mvKey_Q else -1
        state.set_rotate(state.session.rotate_deg + sign * step * ROTATE_STEP_DEG)
    else:
        return
    app.request_render()


def handle_frame_keys(app: "App", events: KeyEvents) -> None:
    """Main thread, after the frame's callbacks ran: act on its shortcuts (none while typing)."""
    presses = events.take()
    if presses and not typing():
        for key, shift, ctrl in presses:
            handle_key(app, key, shift, ctrl)


def install(events: KeyEvents) -> None:
    with dpg.handler_registry():
        dpg.add_key_press_handler(callback=lambda _s, key, _u: events.pressed(key))
        dpg.add_key_release_handler(callback=lambda _s, key, _u: events.released(key))
    with dpg.window(label="eqviz help", tag="help_window", show=False, width=780, height=620, pos=(440, 40)):
        help_table(("keys and mouse", "does"), 250, 480, SHORTCUTS)
        dpg.add_spacer(height=8)
        help_table(("panel", "control"), 100, 620, CONTROLS)


def help_table(headers: tuple[str, str], first_width: int, wrap: int, rows) -> None:
    """A two-column table of the help window: a fixed-width first column, the second wrapped beside it."""
    with dpg.table(header_row=True, borders_innerH=True):
        dpg.add_table_column(label=headers[0], width_fixed=True, init_width_or_weight=first_width)
        dpg.add_table_column(label=headers[1])
        for first, second in rows:
            with dpg.table_row():
                dpg.add_text(first)
                dpg.add_text(second, wrap=wrap)
