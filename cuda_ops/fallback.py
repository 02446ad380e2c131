"""What a path of an op says when it cannot take an input: `Unsupported`, and the once-per-process
warning of a step down. A leaf, so the dispatcher and the kernels it chooses can both use it."""
import threading
import warnings


class Unsupported(ValueError):
    """A path of an op cannot take this input; the next path down runs instead.

    `announced` is True when the reason was already said once elsewhere (a device without kernels is
    reported by backend_status when it is first resolved), so stepping down adds no second warning."""

    def __init__(self, reason: str, announced: bool = False):
        super().__init__(reason)
        self.announced = announced


WARNED_ONCE: set = set()  # keys of the fallback warnings given so far in this process
_warned_lock = threading.Lock()


def warn_once(key, message: str) -> None:
    """A RuntimeWarning the first time `key` is seen in this process, nothing after."""
    with _warned_lock:
        if key in WARNED_ONCE:
            return
        WARNED_ONCE.add(key)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


AUTOGRAD_REASON = "a gradient is needed and the fast path writes in place, which autograd cannot follow"
