"""Small Dear PyGui helpers shared by panels (main thread only), and the app's file dialogs.

Every file dialog is made through `file_dialog`, so the app knows them all: shortcuts stay off while
one is open, a screenshot waits until it has closed, and all of them open in the folder last used
(or the loaded checkpoint's). Dear PyGui reads a dialog's folder only when the dialog is created, so
a new folder recreates the closed dialogs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from eqviz.app.status import ERROR_COLOUR

# The filter list of every dialog that picks a checkpoint (the first entry groups the formats).
CHECKPOINT_EXTENSIONS = ("Checkpoints{.pkl,.safetensors,.pt,.pth}", ".pkl", ".safetensors", ".*")


@dataclass
class _Dialog:
    label: str
    on_path: Callable[[str], None]
    extensions: tuple[str, ...]
    default_filename: str
    directory: bool


_DIALOGS: dict[str, _Dialog] = {}
_folder: list[str] = []  # the folder dialogs open in (empty: the working directory)


def file_dialog(tag: str, label: str, on_path: Callable[[str], None], extensions: tuple[str, ...],
                default_filename: str = "", directory: bool = False) -> None:
    """A hidden file dialog at the top level (dialogs cannot live inside a panel's container);
    `on_path` gets the chosen path (a folder when `directory`). Show it with `dpg.show_item(tag)`."""
    _DIALOGS[tag] = _Dialog(label, on_path, extensions, default_filename, directory)
    _create(tag)


def _create(tag: str) -> None:
    spec = _DIALOGS[tag]
    stack = []
    while dpg.top_container_stack() is not None:
        stack.append(dpg.pop_container_stack())
    try:
        with dpg.file_dialog(label=spec.label, tag=tag, show=False, modal=True, width=640, height=420,
                             default_filename=spec.default_filename, directory_selector=spec.directory,
                             default_path=_folder[0] if _folder else str(Path.cwd()),
                             callback=lambda _s, data, _u: _chosen(data, spec.on_path)):
            for ext in spec.extensions:
                dpg.add_file_extension(ext)
    finally:
        for item in reversed(stack):
            dpg.push_container_stack(item)


def chosen_path(data: dict) -> str | None:
    """The path a file dialog's callback data names. A typed absolute (or ~) path stays as typed:
    Dear PyGui joins whatever is typed onto the dialog's folder ('/work//tmp/a.png'), in folder
    dialogs too, where the typed text reaches us only inside that joined path."""
    if not isinstance(data, dict):
        return None
    typed = str(data.get("file_name") or "").strip()
    if "://" in typed:  # a URL typed as the file name: fetched like one typed in the path box
        return typed
    if typed.startswith(("/", "~")):
        return str(Path(typed).expanduser())
    if typed and Path(typed).suffix and data.get("current_path"):  # a typed extension stays (edits.json
        return str(Path(data["current_path"]) / typed)                # is not turned into edits.npz)
    joined = str(data.get("file_path_name") or "")
    # A folder dialog reports no file name, only the folder joined with what was typed into it.
    if "//" in joined:
        return joined[joined.rindex("//") + 1:]
    if "/~" in joined and (joined.endswith("/~") or "/~/" in joined):
        return str(Path(joined[joined.index("/~") + 1:]).expanduser())
    return joined or None


def _chosen(data: dict, on_path: Callable[[str], None]) -> None:
    path = chosen_path(data)
    if path:
        set_dialog_folder(str(Path(path).parent))
        on_path(path)


def set_dialog_folder(folder: str) -> None:
    """Open every file dialog in `folder` from now on (the last folder used, or the checkpoint's)."""
    if not Path(folder).is_dir() or _folder == [folder]:
        return
    _folder[:] = [folder]
    for tag in _DIALOGS:
        if dpg.does_item_exist(tag) and not dpg.is_item_shown(tag):
            dpg.delete_item(tag)
            _create(tag)


def dialog_open() -> bool:
    """A file dialog is on screen (it has the keyboard, and must not appear in a screenshot)."""
    return any(dpg.does_item_exist(tag) and dpg.is_item_shown(tag) for tag in _DIALOGS)


def forget_dialogs() -> None:
    """The context that held the dialogs is gone (the app shut down)."""
    _DIALOGS.clear()
    _folder.clear()


DISABLED_TEXT = (120, 120, 120)
DISABLED_FRAME = (45, 45, 48)
# Item types a control that can be disabled may have (Dear PyGui draws a disabled item like an enabled one).
GREYABLE_TYPES = ("mvButton", "mvCheckbox", "mvCombo", "mvInputInt", "mvInputFloat", "mvInputDouble", "mvInputText",
                  "mvSliderFloat", "mvDragFloat", "mvDragIntMulti", "mvRadioButton")
DISABLED_THEME = "eqviz_disabled_theme"


def grey_when_disabled(*tags: str) -> None:
    """Draw these items grey while they are disabled. The theme is bound item by item: Dear PyGui 2.3
    crashes a second context in one process (the tests) when disabled-state components sit in the
    global theme."""
    if not dpg.does_item_exist(DISABLED_THEME):
        with dpg.theme(tag=DISABLED_THEME):
            for name in GREYABLE_TYPES:
                with dpg.theme_component(getattr(dpg, name), enabled_state=False):
                    dpg.add_theme_color(dpg.mvThemeCol_Text, DISABLED_TEXT)
                    for colour in (dpg.mvThemeCol_Button, dpg.mvThemeCol_ButtonHovered, dpg.mvThemeCol_ButtonActive,
                                   dpg.mvThemeCol_FrameBg, dpg.mvThemeCol_FrameBgHovered, dpg.mvThemeCol_FrameBgActive):
                        dpg.add_theme_color(colour, DISABLED_FRAME)
    for tag in tags:
        dpg.bind_item_theme(tag, DISABLED_THEME)


def set_if_changed(tag: str, value) -> None:
    """set_value only when the widget shows something else (cheap per-frame mirroring)."""
    if dpg.get_value(tag) != value:
        dpg.set_value(tag, value)


def add_field_error(tag: str, parent: int | str = 0) -> None:
    """A hidden red line where the field `tag` says why it refused a value; add it right after the field
    (or after the row holding it)."""
    dpg.add_text("", tag=f"{tag}_error", wrap=0, color=ERROR_COLOUR, show=False, parent=parent)


def show_field_error(tag: str, message: str | None) -> None:
    """Say beside the field `tag` why it refused a value (None: it took the value; the line goes)."""
    dpg.set_value(f"{tag}_error", message or "")
    dpg.configure_item(f"{tag}_error", show=bool(message))


def typed_path(tag: str) -> str:
    """The path typed in field `tag`, made absolute ("" stays ""): a relative name lands in the app's
    working directory, and the messages about it should say which folder that is."""
    typed = dpg.get_value(tag).strip()
    return os.path.abspath(os.path.expanduser(typed)) if typed else ""


def path_row(tag: str, dialog_label: str, extensions: tuple[str, ...], default: str = "", hint: str = "",
             default_filename: str = "", directory: bool = False) -> None:
    """A path field `tag` with a Browse... button whose file dialog (`<tag>_dialog`) fills it in."""
    dialog = f"{tag}_dialog"
    file_dialog(dialog, dialog_label, lambda p: dpg.set_value(tag, p), extensions, default_filename, directory)
    with dpg.group(horizontal=True):
        dpg.add_input_text(label="", tag=tag, default_value=default, width=260, hint=hint)
        dpg.add_button(label="Browse...", callback=lambda *_: dpg.show_item(dialog))
