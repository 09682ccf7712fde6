"""The loss plot: both baselines, a y-range around the curves, a panel of validation against training."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from normrnn.cli import plotting  # noqa: E402
from normrnn.training.state import History  # noqa: E402


def _history(evaluated=True):
    steps = list(range(1, 201))
    bits = list(6.5 * np.exp(-np.arange(200) / 20) + 2.0)      # falls fast, then slowly
    evals = [(s, 0.0, bits[s - 1], bits[s - 1] + 0.05) for s in range(20, 201, 20)]
    return History(steps=steps, tokens=[100 * s for s in steps], bits=bits,
                   evals=evals if evaluated else [])


def _drawn(monkeypatch):
    """Draw, keeping the figure that would be saved."""
    figures = []
    real = plotting.Figure

    def keep(*args, **kw):
        figures.append(real(*args, **kw))
        return figures[-1]
    monkeypatch.setattr(plotting, "Figure", keep)
    return figures


def test_two_panels_both_baselines_and_a_range_around_the_curves(monkeypatch, tmp_path):
    figures = _drawn(monkeypatch)
    plotting.plot_loss_curve(_history(), tmp_path / "loss.png", unigram_bits=4.5,
                             bigram_bits=3.0, title=plotting.run_title("normrnn train",
                                                                       "texts", 64, "fixed"))
    figure = figures[-1]
    loss, gap = figure.axes[:2]
    labels = [t.get_text() for t in loss.get_legend().get_texts()]
    assert "unigram baseline (4.50)" in labels and "bigram baseline (3.00)" in labels
    low, high = loss.get_ylim()
    assert 1.5 < low < 2.0 and 4.5 < high < 5.5     # not the first steps' 8.5 bits
    assert gap.get_xlabel().startswith("training loss") and gap.get_ylabel() == "validation loss"
    assert figure._suptitle.get_text() == "normrnn train on texts: H=64, gain fixed"
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_one_panel_without_evaluations(monkeypatch, tmp_path):
    figures = _drawn(monkeypatch)
    plotting.plot_loss_curve(_history(evaluated=False), tmp_path / "loss.png")
    assert len(figures[-1].axes) == 1
