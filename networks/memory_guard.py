"""The one memory guard: how much a checkpoint may make eqviz allocate, and the refusal when it is more.

Loading a checkpoint (file, parameters and one frame's activations, priced by `networks.sizing`)
is refused above a limit, by default a share of this machine's memory. The app and every command
that loads a checkpoint go through `check_memory`, and each front end lets the user raise the limit
(the CLI's --max-memory, the app's offer on refusal). Imports nothing heavy: the CLI parses sizes
before torch is loaded.
"""
import os
import re
import resource

from eqviz.errors import CheckpointError, InvalidArgument
from eqviz.untrusted.messages import format_size

DEFAULT_MEMORY_FRACTION = 0.75   # of physical memory or the address-space limit, whichever is lower


class MemoryLimitError(CheckpointError, InvalidArgument):
    """The declared network needs more than the limit: a checkpoint refusal whose remedy is the
    `max_memory` argument, so each front end names its own control for it (an InvalidArgument)."""

    def __init__(self, what: str, needed: int, limit: int):
        self.what, self.needed, self.limit = what, needed, limit
        InvalidArgument.__init__(self, f"{what} needs about {format_size(needed)}, more than the "
                                       f"{format_size(limit)} allowed; if this machine really has the memory, raise "
                                       "the memory limit", "max_memory")


def parse_memory_size(text: str) -> int:
    """'8G', '512M', '1.5GB' or a byte count -> bytes (decimal units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*", str(text))
    if not match:
        raise InvalidArgument(f"memory size {str(text)[:40]!r} is not a number with an optional k, M, G or T "
                              "(e.g. 16G)", "max_memory")
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[match[2].lower()]
    return int(float(match[1]) * scale)


def default_max_memory() -> int:
    """A share of this machine's memory (physical, or the address-space limit if lower)."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    available = min(physical, soft) if soft != resource.RLIM_INFINITY else physical
    return int(available * DEFAULT_MEMORY_FRACTION)


def check_memory(what: str, needed: int, max_memory: int | None = None) -> None:
    """MemoryLimitError when `needed` bytes are over `max_memory` (None: this machine's default)."""
    limit = default_max_memory() if max_memory is None else max_memory
    if needed > limit:
        raise MemoryLimitError(what, needed, limit)
