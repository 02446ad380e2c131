"""A checkpoint the app must fetch first (a URL or a published model's name): one background job
whose progress line says bytes, rate and time left, shown in the checkpoint panel with a Cancel.

The UI stays live meanwhile and the current model stays on screen; once the file is complete it
opens like any local file (the same loading gates), and a failure or a cancel keeps the current
model. Nothing partial is left in the cache either way (eqviz.downloads.fetch).
"""
from __future__ import annotations

import time

from eqviz.downloads.fetch import local_checkpoint
from eqviz.untrusted.messages import format_size


def progress_line(done: int, total: int, elapsed_s: float) -> str:
    """'12.0 MB of 250.0 MB, 4.1 MB/s, 58 s left' (what is known so far)."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    amount = f"{format_size(done)} of {format_size(total)}" if total else format_size(done)
    if not rate:
        return amount
    left = f", {(total - done) / rate:.0f} s left" if total else ""
    return f"{amount}, {format_size(int(rate))}/s{left}"


def download_body(source: str):
    """The job body: fetches `source` with progress and cancel through the handle; returns the local path."""
    def body(handle) -> str:
        start = time.monotonic()

        def progress(done: int, total: int) -> None:
            handle.report(done, total, progress_line(done, total, time.monotonic() - start))

        return str(local_checkpoint(source, progress=progress, cancel=handle.cancelled))

    return body
