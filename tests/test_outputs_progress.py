"""The progress display of the long commands: a bar on a terminal, plain lines in a log, rank 0 only."""
import io

from eqviz.cli.progress import ProgressDisplay


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_piped_output_is_a_few_whole_lines_without_carriage_returns():
    stream = io.StringIO()
    with ProgressDisplay("eq sampling", unit="sample", stream=stream, enabled=True) as display:
        for done in range(1, 1001):
            display.update(done, 1000)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert 10 <= len(lines) <= 11  # one per tenth of the work, not one per step
    assert lines[-1].startswith("eq sampling: 100% 1000/1000") and "ETA" in lines[-1]


def test_a_terminal_gets_one_bar_rewritten_in_place():
    stream = Terminal()
    with ProgressDisplay("video", unit="frame", stream=stream, enabled=True) as display:
        for done in range(1, 5):
            display.update(done, 4)
    text = stream.getvalue()
    assert "\r" in text and text.count("\n") == 1  # redrawn with \r, one final newline
    assert "4/4" in text.splitlines()[-1].split("\r")[-1]


def test_only_the_first_torchrun_process_reports(monkeypatch):
    streams = {}
    for rank in ("0", "1"):
        monkeypatch.setenv("RANK", rank)
        streams[rank] = io.StringIO()
        with ProgressDisplay("eq sampling", stream=streams[rank]) as display:
            display.update(2, 2)
    assert "2/2" in streams["0"].getvalue() and streams["1"].getvalue() == ""
