"""The thread count that follows the free cores: /proc/stat parsing, the decision, and update() on given usage."""
import os

import pytest
import torch

from eqviz.cpu_threads import FreeCoreThreads, busy_seconds, threads_for

TICK = os.sysconf("SC_CLK_TCK")

STAT = """cpu  400 0 100 900 0 0 0 0 0 0
cpu0 100 0 50 450 7 0 0 0 0 0
cpu1 300 10 50 450 0 5 5 10 0 0
cpu2 1000 0 0 0 0 0 0 0 0 0
intr 1 2 3
"""


def test_busy_seconds_counts_only_the_given_cpus_and_busy_fields():
    # cpu0: user 100 + system 50 (iowait 7 is idle); cpu1: 300 + nice 10 + 50 + irq 5 + softirq 5 + steal 10
    assert busy_seconds(STAT, {0, 1}) == pytest.approx((150 + 380) / TICK)
    assert busy_seconds(STAT, {2}) == pytest.approx(1000 / TICK)
    assert busy_seconds(STAT, {7}) is None


@pytest.mark.parametrize("cores, others, limit, want", [
    (2, 0.0, 2, 2), (2, 0.3, 2, 2), (2, 0.7, 2, 1), (2, 1.9, 2, 1), (2, 5.0, 2, 1),
    (8, 3.2, 8, 5), (8, 0.0, 4, 4), (1, 0.0, 1, 1)])
def test_threads_for(cores, others, limit, want):
    assert threads_for(cores, others, limit) == want


class FakeUsage:
    """Samples (wall s, machine busy s, own cpu s) where others keep `others` cores busy and this process `own`."""

    def __init__(self):
        self.wall = self.busy = self.cpu = 0.0
        self.others, self.own = 0.0, 0.0

    def advance(self, seconds):
        self.wall += seconds
        self.busy += (self.others + self.own) * seconds
        self.cpu += self.own * seconds

    def __call__(self, cpus):
        self.advance(0.05)  # the first look's wait, and time between looks
        return self.wall, self.busy, self.cpu


@pytest.fixture
def restore_threads(monkeypatch):
    monkeypatch.delenv("EQVIZ_ADAPTIVE_THREADS", raising=False)
    monkeypatch.delenv("EQVIZ_PROCESS_TUNING", raising=False)
    monkeypatch.setattr("eqviz.cpu_threads.FIRST_WINDOW_S", 0.0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_update_follows_others_and_never_exceeds_the_given_count(restore_threads):
    usage = FakeUsage()
    threads = FreeCoreThreads(cpus={0, 1}, sample=usage)
    assert threads.update() == 2 and torch.get_num_threads() == 2  # a quiet machine
    usage.others, usage.own = 1.5, 0.5  # two busy neighbours take most of the machine
    usage.advance(1.0)
    assert threads.update() == 1 and torch.get_num_threads() == 1
    usage.advance(0.1)
    assert threads.update() == 1  # too soon to look again: the last decision holds
    usage.others, usage.own = 0.0, 1.0  # they are gone
    usage.advance(1.0)
    assert threads.update() == 2 and torch.get_num_threads() == 2
    torch.set_num_threads(1)  # the user's own choice becomes the ceiling
    usage.advance(1.0)
    assert threads.update() == 1 and torch.get_num_threads() == 1


def test_switched_off_by_the_environment(restore_threads, monkeypatch):
    usage = FakeUsage()
    usage.others = 2.0
    monkeypatch.setenv("EQVIZ_ADAPTIVE_THREADS", "0")
    assert FreeCoreThreads(cpus={0, 1}, sample=usage).update() == 2
    assert torch.get_num_threads() == 2
