"""The synthesis thread count chosen by timing: the choice, its retries, the ceiling, and a generator under it."""
import pytest
import torch

from eqviz import cpu_threads
from eqviz.cpu_threads import RETRY_AFTER_RUNS, RETRY_AFTER_S, ThreadChoice


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.delenv("EQVIZ_ADAPTIVE_THREADS", raising=False)
    monkeypatch.delenv("EQVIZ_PROCESS_TUNING", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def call(choice, key, seconds_by_threads, clock, step=1.0):
    """One timed call: the count chosen, with the time it 'took' on that count."""
    threads = choice.begin(key)
    assert torch.get_num_threads() == threads
    clock.now += step
    choice.record(key, threads, seconds_by_threads[threads])
    return threads


def test_times_both_counts_then_keeps_the_faster(two_threads):
    clock = Clock()
    choice = ThreadChoice(clock)
    contended = {2: 3.0, 1: 1.0}  # two threads stall on a busy machine
    assert [call(choice, "G", contended, clock) for _ in range(6)] == [2, 2, 1, 1, 1, 1]
    quiet = {2: 0.5, 1: 1.0}
    assert [call(choice, "H", quiet, clock) for _ in range(5)] == [2, 2, 1, 2, 2]  # each key on its own


def test_the_first_call_is_not_timed(two_threads):
    clock = Clock()
    choice = ThreadChoice(clock)
    call(choice, "G", {2: 50.0}, clock)  # builds the cached weight forms: slow on any count
    quiet = {2: 0.5, 1: 1.0}
    assert [call(choice, "G", quiet, clock) for _ in range(4)] == [2, 1, 2, 2]


def test_an_old_time_is_taken_again_so_the_choice_follows_the_load(two_threads):
    clock = Clock()
    choice = ThreadChoice(clock)
    busy, quiet = {2: 3.0, 1: 1.0}, {2: 0.4, 1: 1.0}
    assert [call(choice, "G", busy, clock) for _ in range(4)] == [2, 2, 1, 1]
    clock.now += max(RETRY_AFTER_S, RETRY_AFTER_RUNS * busy[2])  # the neighbours left a while ago
    # Both times are old: each is taken again afresh (not averaged with the busy past), and two threads win.
    assert [call(choice, "G", quiet, clock) for _ in range(4)] == [2, 1, 2, 2]


def test_long_calls_retry_the_slower_count_only_now_and_then(two_threads):
    clock = Clock()
    choice = ThreadChoice(clock)
    frames = {2: 90.0, 1: 30.0}  # calls longer than RETRY_AFTER_S: a busy machine's 256² frames
    counts = []
    for _ in range(3 + 4 * RETRY_AFTER_RUNS):  # ~1,300 s
        threads = choice.begin("G")
        counts.append(threads)
        clock.now += frames[threads]
        choice.record("G", threads, frames[threads])
    assert counts[:3] == [2, 2, 1]  # the untimed first call, then both counts timed
    # Two threads are retried once RETRY_AFTER_RUNS of their 90 s have passed: once in these ~1,300 s,
    # not every other call (as a fixed RETRY_AFTER_S alone would do).
    assert counts[3:].count(2) == 1


def test_the_given_count_is_the_ceiling_and_a_new_one_is_followed(two_threads):
    clock = Clock()
    choice = ThreadChoice(clock)
    call(choice, "G", {2: 3.0, 1: 1.0}, clock)
    torch.set_num_threads(1)  # the user's own choice
    assert {call(choice, "G", {1: 1.0}, clock) for _ in range(3)} == {1}


def test_switched_off_by_the_environment(two_threads, monkeypatch):
    monkeypatch.setenv("EQVIZ_ADAPTIVE_THREADS", "0")
    monkeypatch.setattr(cpu_threads, "THREAD_CHOICE", ThreadChoice())
    for _ in range(3):
        with cpu_threads.fastest_threads("G", torch.device("cpu")):
            assert torch.get_num_threads() == 2


def test_synthesis_runs_under_the_choice_and_gives_the_same_image(two_threads, monkeypatch):
    from eqviz.networks.build import build_generator
    from eqviz.networks.config import StyleGAN3Config

    choice = ThreadChoice()
    monkeypatch.setattr(cpu_threads, "THREAD_CHOICE", choice)
    torch.manual_seed(0)
    G = build_generator(StyleGAN3Config(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3,
                                        channel_base=256, channel_max=16)).eval()
    ws = G.mapping(torch.randn(1, 8), None)
    with torch.inference_mode():
        images = [G.synthesis(ws) for _ in range(3)]
    assert len(choice._times) == 1 and set(next(iter(choice._times.values()))) == {1, 2}  # both counts timed
    for image in images[1:]:
        torch.testing.assert_close(image, images[0], rtol=1e-5, atol=1e-6)
