"""The loss curve of a run as a PNG (matplotlib's Agg backend: no display needed)."""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["plot_loss_curve"]


def _smooth(values, fraction=0.1):
    """Centred moving average whose half-width is ``fraction`` of the index.

    Narrow at the start, where the loss falls fast, wide later: it suits a
    logarithmic step axis and, being centred, does not lag behind the curve.
    """
    values = np.asarray(values, dtype=float)
    cumsum = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(len(values))
    half = (fraction * idx).astype(int)
    lo, hi = idx - half, np.minimum(idx + half + 1, len(values))
    return (cumsum[hi] - cumsum[lo]) / (hi - lo)


def plot_loss_curve(history, path, *, unigram_bits=None, title="normrnn training"):
    """Draw training and validation loss (bits per token) against tokens seen.

    Parameters
    ----------
    history : History
        From a run's :class:`~normrnn.training.state.TrainState`.
    path : str or Path
        PNG file to write (its folder is created).
    unigram_bits : float or None, optional
        Drawn as a dashed line: the baseline to beat.
    title : str, optional

    Returns
    -------
    Path
        ``path``.
    """
    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    tokens = np.asarray(history.tokens, dtype=float)
    bits = np.asarray(history.bits, dtype=float)
    ok = np.isfinite(bits) & (tokens > 0)
    ax.plot(tokens[ok], bits[ok], color="0.8", lw=0.8, label="minibatch")
    ax.plot(tokens[ok], _smooth(bits[ok]), color="C0", lw=1.5, label="training (smoothed)")
    if history.evals:
        steps_to_tokens = dict(zip(history.steps, history.tokens, strict=True))
        evals = np.asarray(history.evals)
        x = [steps_to_tokens.get(int(s), 0) for s in evals[:, 0]]
        ax.plot(x, evals[:, 2], "o-", color="C2", ms=3, label="training (evaluated)")
        ax.plot(x, evals[:, 3], "s-", color="C1", ms=3, label="validation")
    if unigram_bits is not None:
        ax.axhline(unigram_bits, color="C3", ls="--", lw=1, label="unigram baseline")
    ax.set_xscale("log")          # the first steps fall fast, the rest slowly: show both
    ax.set_xlabel("training tokens seen (log scale)")
    ax.set_ylabel("loss (bits per token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
