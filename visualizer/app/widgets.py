"""Small Dear PyGui helpers shared by panels (main thread only)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg


def file_dialog(tag: str, label: str, on_path: Callable[[str], None], extensions: tuple[str, ...],
                default_filename: str = "", directory: str | None = None) -> None:
    """A hidden file dialog at the top level (dialogs cannot live inside a panel's container);
    `on_path` gets the chosen path. Show it with `dpg.show_item(tag)`."""
    stack = []
    while dpg.top_container_stack() is not None:
        stack.append(dpg.pop_container_stack())
    try:
        with dpg.file_dialog(label=label, tag=tag, show=False, modal=True, width=640, height=420,
                             default_filename=default_filename, default_path=directory or str(Path.cwd()),
                             callback=lambda _s, data, _u: _chosen(data, on_path)):
            for ext in extensions:
                dpg.add_file_extension(ext)
    finally:
        for item in reversed(stack):
            dpg.push_container_stack(item)


def _chosen(data: dict, on_path: Callable[[str], None]) -> None:
    path = data.get("file_path_name") if isinstance(data, dict) else None
    if path:
        on_path(path)


def set_if_changed(tag: str, value) -> None:
    """set_value only when the widget shows something else (cheap per-frame mirroring)."""
    if dpg.get_value(tag) != value:
        dpg.set_value(tag, value)
