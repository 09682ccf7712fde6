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

__all__ = ["plot_loss_curve", "run_title", "plot_formats", "plot_format"]


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


def run_title(what, corpus, hidden_size, gain):
    """The title of a run's loss plot: what was trained, on what.

    Parameters
    ----------
    what : str
        The command, such as ``"normrnn train"``.
    corpus : str
        The documents' name (a file or folder name).
    hidden_size : int
        H.
    gain : str
        ``"fixed"`` or ``"learned"``.

    Returns
    -------
    str
        Such as ``"normrnn train on texts/: H=64, gain fixed"``.
    """
    return f"{what} on {corpus}: H={hidden_size}, gain {gain}"


def _y_range(values, floor):
    """Limits around ``values`` (the curves once past their first fall) and ``floor``."""
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    lo, hi = values.min(), values.max()
    pad = 0.08 * max(hi - lo, 0.05)
    return max(floor, lo - pad), hi + pad


def _baselines(ax, unigram_bits, bigram_bits):
    for bits, colour, name in ((unigram_bits, "C3", "unigram"), (bigram_bits, "C4", "bigram")):
        if bits is not None:
            ax.axhline(bits, color=colour, ls="--", lw=1,
                       label=f"{name} baseline ({bits:.2f})")


def _loss_panel(ax, history, unigram_bits, bigram_bits):
    """Training and validation loss against tokens seen, both baselines dashed."""
    tokens = np.asarray(history.tokens, dtype=float)
    bits = np.asarray(history.bits, dtype=float)
    ok = np.isfinite(bits) & (tokens > 0)
    smooth = _smooth(bits[ok])
    ax.plot(tokens[ok], bits[ok], color="0.8", lw=0.8, label="minibatch")
    ax.plot(tokens[ok], smooth, color="C0", lw=1.5, label="training (smoothed)")
    shown = list(smooth[len(smooth) // 10:])      # past the first fall: the range to show
    if history.evals:
        steps_to_tokens = dict(zip(history.steps, history.tokens, strict=True))
        evals = np.asarray(history.evals)
        x = [steps_to_tokens.get(int(s), 0) for s in evals[:, 0]]
        ax.plot(x, evals[:, 2], "o-", color="C2", ms=3, label="training (evaluated)")
        ax.plot(x, evals[:, 3], "s-", color="C1", ms=3, label="validation")
        shown += list(evals[len(evals) // 10:, 2:4].ravel())
    _baselines(ax, unigram_bits, bigram_bits)
    shown += [b for b in (unigram_bits, bigram_bits) if b is not None]
    if shown:
        ax.set_ylim(*_y_range(shown, 0.0))
    ax.set_xscale("log")          # the first steps fall fast, the rest slowly: show both
    ax.set_xlabel("training tokens seen (log scale)")
    ax.set_ylabel("loss (bits per token)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small", framealpha=0.9)


def _gap_panel(ax, history, margin):
    """Validation against training loss at each evaluation, beside the line of no gap."""
    evals = np.asarray(history.evals, dtype=float)
    train, valid = evals[:, 2], evals[:, 3]
    lo, hi = _y_range(np.concatenate([train, valid, valid - margin]), 0.0)
    line = np.array([lo, hi])
    ax.plot(line, line, color="0.5", lw=1, label="validation = training")
    ax.plot(line, line + margin, color="C3", ls=":", lw=1,
            label=f"overfitting beyond (+{margin} bits)")
    points = ax.scatter(train, valid, c=np.arange(len(train)), cmap="viridis", s=14,
                        zorder=3, label="evaluations (dark: first)")
    ax.plot(train, valid, color="0.7", lw=0.6, zorder=2)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("training loss (bits per token)")
    ax.set_ylabel("validation loss")
    ax.set_title("validation against training", fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="x-small")   # validation below training: rare
    return points


def plot_loss_curve(history, path, *, unigram_bits=None, bigram_bits=None,
                    title="normrnn training", force=False):
    """Draw training and validation loss (bits per token) against tokens seen.

    The left panel shows the losses over training with both baselines, its
    y-range drawn around the curves once past their first fall; the right
    panel, when the run was evaluated, the validation loss against the
    training loss at each evaluation: points above the diagonal by more than
    :data:`~normrnn.cli.diagnosis.OVERFIT_MARGIN` are what ``normrnn train``
    calls overfitting.

    Parameters
    ----------
    history : History
        From a run's :class:`~normrnn.training.state.TrainState`.
    path : str or Path
        Image file to write, in the format its suffix names (its folder is
        created); written atomically.
    unigram_bits, bigram_bits : float or None, optional
        Drawn as dashed lines: the baselines to beat.
    title : str, optional
        What was trained (:func:`run_title`).
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
    from .diagnosis import OVERFIT_MARGIN
    plot_format(path)                       # refused before anything is drawn
    panels = 2 if history.evals else 1
    fig = Figure(figsize=(11 if panels == 2 else 7, 4.4), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False,
                        gridspec_kw={"width_ratios": [1.6, 1][:panels]})[0]
    _loss_panel(axes[0], history, unigram_bits, bigram_bits)
    axes[0].set_title("loss over training", fontsize="medium")
    if panels == 2:
        _gap_panel(axes[1], history, OVERFIT_MARGIN)
    fig.suptitle(title)
    fig.tight_layout()
    return write_figure(fig, path, replace_any=force)
