"""Torch's CPU thread count, following the cores that other processes leave free.

On a shared machine a parallel region ends only when its slowest thread does: with more runnable
threads than cores, every one of a frame's thousands of regions can wait out a time slice for a
descheduled worker. Measured on 2 cores beside other torch jobs (load 5-11), a StyleGAN3-T 256² frame
took 17 s on one thread and 45-160 s on two, which also burned 3-4x the CPU time. So before each
synthesis call the process runs as many threads as the cores others left idle over the last moments,
never more than the count it was given (by torch, OMP_NUM_THREADS or `torch.set_num_threads`).

Others' use is the machine's busy time (/proc/stat, the cores this process may run on) minus this
process's own CPU time, over the time since the previous look. Where /proc/stat is missing (not
Linux) the count stays as given. EQVIZ_PROCESS_TUNING=0 or EQVIZ_ADAPTIVE_THREADS=0 turn this off.
"""
import os
import threading
import time

import torch

MIN_WINDOW_S = 0.25  # looks closer together than this keep the last decision
FIRST_WINDOW_S = 0.05  # the very first look waits this long to see what others use
STAT_PATH = "/proc/stat"


def enabled() -> bool:
    return os.environ.get("EQVIZ_PROCESS_TUNING") != "0" and os.environ.get("EQVIZ_ADAPTIVE_THREADS") != "0"


def busy_seconds(stat_text: str, cpus: set) -> float | None:
    """Seconds the given CPUs spent running anything (user, nice, system, irq, softirq, steal) per /proc/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0, 0
    for line in stat_text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        if int(name[3:]) not in cpus:
            continue
        fields = [int(v) for v in rest.split()]
        total += fields[0] + fields[1] + fields[2] + sum(fields[5:8])
        seen += 1
    return total / tick if seen else None


def threads_for(cores: int, others_cores: float, limit: int) -> int:
    """Threads to run on `cores` cores while others keep `others_cores` of them busy, at most `limit`."""
    return max(1, min(limit, int(cores - others_cores + 0.5)))


def usable_cpus() -> set:
    try:
        return os.sched_getaffinity(0)
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def sample_usage(cpus: set):
    """(monotonic s, busy s of `cpus`, this process's CPU s), or None where /proc/stat cannot be read."""
    try:
        with open(STAT_PATH) as f:
            busy = busy_seconds(f.read(), cpus)
    except OSError:
        return None
    return None if busy is None else (time.monotonic(), busy, time.process_time())


class FreeCoreThreads:
    """Keeps torch's thread count at the cores others leave free (call `update()` before heavy work).

    cpus: the cores this process may run on; sample: cpus -> `sample_usage`'s triple (tests pass their own).
    """

    def __init__(self, cpus: set | None = None, sample=sample_usage):
        self._lock = threading.Lock()
        self._limit = None  # the count the process was given
        self._applied = None  # the count this object last set
        self._last = None  # (wall, machine busy s, own cpu s) at the previous look
        self._cpus = usable_cpus() if cpus is None else cpus
        self._sample_usage = sample

    def _sample(self):
        return self._sample_usage(self._cpus)

    def update(self) -> int:
        """Sets and returns the thread count for the next stretch of work."""
        with self._lock:
            current = torch.get_num_threads()
            if self._applied is None or current != self._applied:
                self._limit = current  # first use, or someone else set the count: that is the new ceiling
            if not enabled() or self._limit <= 1:
                return current
            if self._last is None:
                self._last = self._sample()
                if self._last is None:
                    return current
                time.sleep(FIRST_WINDOW_S)
            now = self._sample()
            wall = 0.0 if now is None else now[0] - self._last[0]
            if wall <= 0 or (self._applied is not None and wall < MIN_WINDOW_S):
                return current  # too soon to tell: keep the last decision
            others = max(0.0, (now[1] - self._last[1]) - (now[2] - self._last[2])) / wall
            self._last = now
            threads = threads_for(len(self._cpus), others, self._limit)
            if threads != current:
                torch.set_num_threads(threads)
            self._applied = threads
            return threads


FREE_CORE_THREADS = FreeCoreThreads()


def follow_free_cores(device: torch.device) -> None:
    """Before CPU synthesis: run as many torch threads as the cores others leave free (see the module)."""
    if device.type == "cpu":
        FREE_CORE_THREADS.update()
