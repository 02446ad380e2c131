"""Torch's CPU thread count for synthesis, chosen by how fast synthesis actually runs on this machine now.

On a shared machine a parallel region ends only when its slowest thread does: with more runnable
threads than cores, each of a frame's thousands of small regions (StyleGAN3's polyphase filter tiles)
can wait out a time slice for a descheduled worker. One thread waits for no one, but where the
scheduler shares the cores per thread it also gets half the share two would. Which wins depends on
the neighbours and the model: measured on 2 cores at load 5-16, a StyleGAN3-T 256² frame took 17-36 s
on one thread and 45-160 s on two in one hour, while an hour later at 64² two threads were 1.4x faster.
So each synthesis network times its own calls on both counts, the count it was given (by torch,
OMP_NUM_THREADS or `torch.set_num_threads`) and one thread, and runs on the faster; a count not
tried for RETRY_AFTER_S, and for RETRY_AFTER_RUNS times its own call time, is tried again, since the
neighbours come and go (so retrying the slower count costs at most about a tenth of the time). A key's
first call runs on the given count and is not timed: it builds the weights' cached forms (Winograd
transforms, flips) and grows the heap, and timed, it made the given count look slower than one thread
(StyleGAN2 256² then ran on one thread at 1.0 s where two took 0.72 s).

EQVIZ_PROCESS_TUNING=0 or EQVIZ_ADAPTIVE_THREADS=0 keep the given count throughout.
"""
import contextlib
import os
import threading
import time

import torch

RETRY_AFTER_S = 20.0  # a thread count not timed for this long is timed again...
RETRY_AFTER_RUNS = 10  # ...and not before this many of its own call times have passed (long frames)
MAX_KEYS = 64  # (network, input shape) pairs remembered; the oldest are forgotten beyond
EMA_WEIGHT = 0.5  # weight of a new time in a count's running average


def enabled() -> bool:
    return os.environ.get("EQVIZ_PROCESS_TUNING") != "0" and os.environ.get("EQVIZ_ADAPTIVE_THREADS") != "0"


def stale(timing: tuple, now: float) -> bool:
    """True for a (seconds, when timed) too old to describe the load at `now`: time it again, afresh."""
    seconds, when = timing
    return now - when > max(RETRY_AFTER_S, RETRY_AFTER_RUNS * seconds)


class ThreadChoice:
    """Per key (a network and its input shape): seconds per call on each thread count, and the choice.

    clock: monotonic seconds (tests pass their own)."""

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._limit = None  # the count the process was given
        self._applied = None  # the count this object last set
        self._times = {}  # key -> {threads: (average seconds, when last timed)}; {} after the untimed first call

    def begin(self, key) -> int:
        """Sets and returns the thread count for one call under `key`."""
        with self._lock:
            current = torch.get_num_threads()
            if self._applied is None or current != self._applied:
                self._limit = current  # first use, or someone else set the count: that is the new ceiling
            threads = self._choose(key)
            if threads != current:
                torch.set_num_threads(threads)
            self._applied = threads
            return threads

    def _choose(self, key) -> int:
        options = (self._limit, 1) if self._limit > 1 else (self._limit,)
        timed = self._times.get(key, {})
        now = self._clock()
        for threads in options:  # untimed (the given count first), or timed too long ago
            if threads not in timed or stale(timed[threads], now):
                return threads
        return min(options, key=lambda threads: timed[threads][0])

    def record(self, key, threads: int, seconds: float) -> None:
        """One call under `key` on `threads` threads took `seconds`."""
        with self._lock:
            if key not in self._times:  # the first call: caches and heap were filled, not a timing
                self._times[key] = {}
                self._forget_oldest()
                return
            timed = self._times.pop(key)  # re-inserted last: the dict stays oldest-first
            if threads in timed and not stale(timed[threads], self._clock() - seconds):
                seconds = EMA_WEIGHT * seconds + (1 - EMA_WEIGHT) * timed[threads][0]
            timed[threads] = (seconds, self._clock())
            self._times[key] = timed
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        while len(self._times) > MAX_KEYS:
            del self._times[next(iter(self._times))]


THREAD_CHOICE = ThreadChoice()


@contextlib.contextmanager
def fastest_threads(key, device: torch.device):
    """Runs the block (one synthesis call) on the thread count that has been faster for `key` (see the module)."""
    if device.type != "cpu" or not enabled():
        yield
        return
    threads = THREAD_CHOICE.begin(key)
    start = time.perf_counter()
    yield
    THREAD_CHOICE.record(key, threads, time.perf_counter() - start)
