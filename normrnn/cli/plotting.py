"""The loss curve of a run as an image (matplotlib's Agg backend: no display needed).

The format follows the file's suffix (``.png``, ``.pdf``, ``.svg``, ...: any
that matplotlib writes, :func:`plot_formats`).  The file is written
atomically, like a checkpoint, marked as normrnn's, and replaces only a plot
normrnn made (:mod:`normrnn.cli.plot_files`).
"""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .plot_files import write_figure

__all__ = ["plot_loss_curve", "plot_formats", "plot_format"]

def plot_formats():
    """The formats matplotlib can write here, by suffix.

    Returns
    -------
    dict of str to str
        Suffix without the dot (lower case) to a description.
    """
    return Figure().canvas.get_supported_filetypes()


def plot_format(path):
    """The format of a plot written to ``path``: its suffix, lower case, without the dot.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        Such as ``"png"``, ``"pdf"`` or ``"svg"``.

    Raises
    ------
    ValueError
        If matplotlib cannot write that suffix; the message lists those it can.
    """
    suffix = Path(path).suffix.lower().removeprefix(".")
    formats = plot_formats()
    if suffix not in formats:
        what = f"'.{suffix}' files" if suffix else "a file without a suffix"
        raise ValueError(f"matplotlib cannot write {what}; use a name ending in one of "
                         f"{', '.join('.' + k for k in sorted(formats))}")
    return suffix


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


def plot_loss_curve(history, path, *, unigram_bits=None, title="normrnn training", force=False):
    """Draw training and validation loss (bits per token) against tokens seen.

    Parameters
    ----------
    history : History
        From a run's :class:`~normrnn.training.state.TrainState`.
    path : str or Path
        Image file to write, in the format its suffix names (its folder is
        created); written atomically.
    unigram_bits : float or None, optional
        Drawn as a dashed line: the baseline to beat.
    title : str, optional
    force : bool, optional
        Replace whatever file is at ``path``; by default only a plot normrnn
        made (:func:`~normrnn.cli.plot_files.write_figure`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If matplotlib cannot write ``path``'s suffix (before anything is drawn).
    """
    plot_format(path)                       # refused before anything is drawn
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
    return write_figure(fig, path, replace_any=force)
