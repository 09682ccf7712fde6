"""The progress bar: percentage and time left under a budget, plain lines in a file."""

import io
import subprocess
import sys

from _cli import cli_env
from _toy import toy_corpus, write_folder

import pytest

from normrnn.cli import progress
from normrnn.cli.progress import ProgressBar, budget_fraction, format_seconds
from normrnn.training import TrainConfig, Trainer


class _Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_budget_fraction_is_the_largest_share():
    assert budget_fraction(tokens=50, total=200, elapsed=30.0, minutes=1.0, step=1,
                           max_steps=10) == 0.5
    assert budget_fraction(tokens=50, total=None, elapsed=0.0, minutes=None, step=9,
                           max_steps=10) == 0.9
    assert budget_fraction(tokens=5, total=None, elapsed=9.0, minutes=None, step=3,
                           max_steps=None) is None
    assert budget_fraction(tokens=500, total=200, elapsed=0, minutes=None, step=0,
                           max_steps=None) == 1.0


def test_format_seconds():
    assert format_seconds(14.4) == "0:14"
    assert format_seconds(3725) == "1:02:05"


def test_step_budget_shows_percentage_and_time_left(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    out = io.StringIO()                         # not a terminal: plain lines
    bar = ProgressBar(None, 0, max_steps=10, file=out)
    for step in range(1, 5):
        clock.now += 1.0
        bar.update(1000 * step, 2.5)
    line = bar.line()
    assert "40%" in line and "0:04 elapsed, 0:06 left" in line, line
    assert "loss 2.500 bit/tok" in line


def test_time_budget_time_left_is_the_budget_left(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    bar = ProgressBar(None, 0, minutes=1.0, elapsed=15.0, file=io.StringIO())
    clock.now += 15.0
    bar.update(10, None)
    assert " 50%" in bar.line() and "0:30 elapsed, 0:30 left" in bar.line(), bar.line()


def test_file_gets_a_plain_line_every_interval_and_at_the_end(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    out = io.StringIO()
    with ProgressBar(None, 0, max_steps=1000, file=out) as bar:
        for step in range(1, 1001):
            clock.now += 0.1                     # 100 s in all
            bar.update(step, 3.0)
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    # the first step, one every PLAIN_INTERVAL seconds, and the last
    assert len(lines) <= 100 / progress.PLAIN_INTERVAL + 2, lines
    assert "100%" in lines[-1] and "0:00 left" in lines[-1], lines[-1]
    assert len(set(lines)) == len(lines)                # the last state once, not twice


def test_train_progress_in_a_file_holds_no_carriage_return(tmp_path):
    texts = write_folder(tmp_path / "texts", toy_corpus(n=40))
    log = tmp_path / "stderr.txt"
    with open(log, "w", encoding="utf-8") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "normrnn", "train", str(texts), "--out",
             str(tmp_path / "m.npz"), "--hidden", "8", "--batch-size", "4", "--threads", "1",
             "--max-steps", "30"], stdout=subprocess.PIPE, stderr=stderr, text=True,
            env=cli_env(), timeout=120)
    assert done.returncode == 0, log.read_text()
    text = log.read_text(encoding="utf-8")
    assert "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 4, lines
    assert lines[-1].startswith("train 100%") and "left" in lines[-1], lines


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True

    def fileno(self):
        return 2


def _written(monkeypatch, columns):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    monkeypatch.setattr(progress.os, "get_terminal_size",
                        lambda fd: progress.os.terminal_size((columns, 24)))
    out = _Terminal()
    with ProgressBar(None, 0, max_steps=100, file=out) as bar:
        for step in range(1, 101):
            clock.now += 0.5
            bar.update(step, 3.0)
    return out.getvalue()


def test_a_terminal_of_zero_columns_gets_plain_lines(monkeypatch):
    text = _written(monkeypatch, 0)
    assert "\r" not in text and 2 <= len(text.splitlines()) <= 50 / progress.PLAIN_INTERVAL + 2


def test_a_terminal_gets_one_line_redrawn_with_a_bar(monkeypatch):
    text = _written(monkeypatch, 120)
    redraws = text.split("\r")[1:]
    assert len(redraws) > 50 / progress.PLAIN_INTERVAL + 2 and text.endswith("\n")
    assert all(len(r.rstrip("\n")) < 120 for r in redraws)
    assert "100%|####################|" in redraws[-1]


def _toy_trainer(**kwargs):
    return Trainer.new(toy_corpus(n=12), TrainConfig(hidden_size=4, batch_size=2, n_threads=1,
                                                     epochs=None, max_steps=5, eval_every=2),
                       **kwargs)


def test_the_trainer_reports_to_its_callback_and_prints_nothing(capfd):
    reports = []
    result = _toy_trainer(progress=lambda **report: reports.append(report)).run()
    assert capfd.readouterr() == ("", "")
    evals = result.state.history.evals                  # at steps 2, 4 and at the end, 5
    assert [r["step"] for r in reports] == [1, 2, 3, 4, 5, 5]
    assert [r["valid_bits"] for r in reports] == [None] + [evals[0][3]] * 2 + [evals[1][3]] * 2 \
        + [evals[2][3]]
    assert reports[-1]["tokens"] == result.state.tokens
    assert all(r["train_bits"] is not None for r in reports)


def test_a_run_without_progress_prints_nothing(capfd):
    _toy_trainer().run()
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("progress", [True, "bar", 1])
def test_progress_must_be_a_callable(progress):
    with pytest.raises(TypeError, match="progress must be a callable"):
        _toy_trainer(progress=progress)


def test_the_bar_is_a_progress_callback():
    out = io.StringIO()
    with ProgressBar(None, 0, max_steps=5, file=out) as bar:
        _toy_trainer(progress=bar).run()
    assert bar.step == 5 and bar._valid is not None
    assert "valid" in out.getvalue().splitlines()[-1]
