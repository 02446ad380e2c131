"""The one progress display of the long commands (metrics, video, sticking), built on tqdm.

On a terminal it is one bar that follows the terminal's width and rewrites itself in place. Piped
into a file or a CI log it writes a plain line every tenth of the work and at the end, so the log
reads as lines instead of one line holding thousands of carriage returns. Under torchrun only the
process of rank 0 shows anything, so N processes draw one bar, not N.
"""
import math
import os
import sys
import time

LOG_STEP = 0.1  # fraction of the work between two lines when the output is not a terminal

# tqdm's fields; the bar itself only on a terminal.
TERMINAL_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed} elapsed, ETA {remaining}, {rate_fmt}]"
LOG_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed} elapsed, ETA {remaining}, {rate_fmt}]"


def is_first_process() -> bool:
    """True outside torchrun, and in its process of rank 0 (torchrun sets RANK in every process)."""
    return os.environ.get("RANK", "0").strip() in ("", "0")


class ProgressDisplay:
    """Call `update(done, total)` after each step; use as a context manager (or call `close`)."""

    def __init__(self, label: str, unit: str = "it", stream=None, enabled: bool | None = None, unit_scale: bool = False):
        self.label, self.unit = label, unit
        self.scale = {"unit_scale": True, "unit_divisor": 1000} if unit_scale else {}  # bytes as kB, MB, GB
        self.stream = sys.stderr if stream is None else stream
        self.enabled = is_first_process() if enabled is None else enabled
        self.interactive = self.enabled and self.stream.isatty()
        self._bar = None
        self._start = time.perf_counter()
        self._next_line = 0.0  # fraction of the work at which the next log line is due

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm  # here: every command module imports this one while its arguments are read

        if self.interactive:
            if self._bar is None:
                self._bar = tqdm(total=total, desc=self.label, unit=self.unit, file=self.stream, dynamic_ncols=True,
                                 bar_format=TERMINAL_FORMAT, **self.scale)
            self._bar.total = total
            self._bar.update(done - self._bar.n)
            return
        fraction = done / total if total > 0 else 1.0
        if fraction + 1e-12 < self._next_line and done != total:
            return
        elapsed = time.perf_counter() - self._start
        line = tqdm.format_meter(done, total, elapsed, prefix=self.label, unit=self.unit, bar_format=LOG_FORMAT,
                                 **self.scale)
        self.stream.write(line + "\n")
        self.stream.flush()
        self._next_line = (math.floor(fraction / LOG_STEP + 1e-9) + 1) * LOG_STEP

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False
