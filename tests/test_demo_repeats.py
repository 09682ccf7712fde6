"""``normrnn demo`` is bounded by steps: the same command gives the same numbers and samples."""

from normrnn import cli

#: lines that report the machine's speed, or name the plot file: they may differ
_TIMING = ("tokens/s", "demo finished in", "loss plot written to")


def _demo(capsys, plot, *extra):
    status = cli.main(["demo", "--out", str(plot), "--steps", "12", "--hidden", "8",
                       "--threads", "2", "--no-progress", *extra])
    out = capsys.readouterr().out
    assert status == 0, out
    return [line for line in out.splitlines() if not any(t in line for t in _TIMING)]


def test_same_command_same_numbers_and_samples(capsys, tmp_path):
    first = _demo(capsys, tmp_path / "a.png")
    second = _demo(capsys, tmp_path / "b.png")
    assert first == second
    text = "\n".join(first)
    assert "12 steps on 2 thread(s)" in text
    assert "recurrence is worth" in text and "--- title 'heapq'" in text


def test_another_seed_gives_other_numbers(capsys, tmp_path):
    first = _demo(capsys, tmp_path / "a.png")
    other = _demo(capsys, tmp_path / "b.png", "--seed", "1")
    assert first != other          # the comparison above can see a difference


def test_minutes_replaces_the_step_budget(capsys, tmp_path):
    status = cli.main(["demo", "--out", str(tmp_path / "m.png"), "--minutes", "0.002",
                       "--hidden", "8", "--threads", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert status == 0
    assert "0.002 min (a time budget: results vary with the machine's speed)" in out
