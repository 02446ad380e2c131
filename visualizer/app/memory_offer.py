"""When the memory guard refuses a checkpoint, the app offers to raise the limit (the CLI's --max-memory).

The guard's default (3/4 of this machine's memory) is a guess about what else runs here; the user
knows better. Accepting raises the limit for the rest of the session, with some headroom over what
the checkpoint needs, and opens it again.
"""
import dearpygui.dearpygui as dpg

from eqviz.untrusted.messages import format_size

TAG = "memory_limit_window"
HEADROOM = 1.25  # the raised limit over the refused estimate


def raised_limit(needed: int) -> int:
    return int(needed * HEADROOM)


def offer_higher_limit(app, path: str, message: str, needed: int) -> None:
    """A modal with the refusal and two buttons: raise the limit and open `path`, or keep it."""
    limit = raised_limit(needed)
    if dpg.does_item_exist(TAG):
        dpg.delete_item(TAG)

    def accept(*_) -> None:
        dpg.delete_item(TAG)
        app.max_memory = limit
        app.open_checkpoint(path)

    with dpg.window(label="Memory limit", tag=TAG, modal=True, width=560, autosize=True, no_collapse=True):
        dpg.add_text(message, wrap=520)
        dpg.add_text(f"Raise the limit to {format_size(limit)} for this session and open it anyway? If the machine "
                     "does not have the memory, it may slow to a crawl or the app may be stopped.", wrap=520)
        with dpg.group(horizontal=True):
            dpg.add_button(label=f"Raise to {format_size(limit)} and open", tag=f"{TAG}_raise", callback=accept)
            dpg.add_button(label="Keep the limit", tag=f"{TAG}_keep", callback=lambda *_: dpg.delete_item(TAG))
