"""Plots of the benchmark: tokens/s of one step, and over H and T (log-log)."""

import numpy as np

from .implementations import LABELS

_STYLE = {"normrnn": ("C0", "o", "-"), "normrnn_float32": ("C0", "o", "--"),
          "by_section": ("C2", "s", "-"), "numpy": ("C1", "^", "-"),
          "torch": ("C3", "v", "-"), "torch_per_token": ("C3", "v", ":")}
_FLOAT32 = "normrnn (fast BPTT), float32"


def plot_step(step, config, ax):
    """Bars of tokens/s of every implementation, one bar per dtype (log scale).

    Parameters
    ----------
    step : dict
        The ``"step"`` part of :func:`~normrnn.bench.run_benchmark`'s results.
    config : dict
        Its ``"config"`` (for the title).
    ax : matplotlib.axes.Axes
        Drawn into.

    Returns
    -------
    matplotlib.axes.Axes
    """
    names = [n for n in LABELS if any(n in step[d]["implementations"] for d in step)]
    width = 0.8 / len(step)
    for i, dtype in enumerate(step):
        rates = [step[dtype]["implementations"].get(n, {}).get("tokens_per_s", 0) for n in names]
        ax.barh(np.arange(len(names)) + (i - (len(step) - 1) / 2) * width, rates,
                height=width, label=dtype, color=f"C{i}", alpha=0.85)
    ax.set_yticks(np.arange(len(names)), [LABELS[n] for n in names])
    ax.invert_yaxis()
    ax.set_xscale("log")
    _rate_axis(ax.xaxis)
    ax.set_xlabel("tokens/s (one thread)")
    ax.set_title(f"one training step, V={config['vocab_size']} H={config['hidden_size']} "
                 f"T={config['length']}", fontsize=10)
    ax.legend(loc="lower right", fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def _rate(value, _position=None):
    """A tick label of tokens/s: ``20k``, ``1.5M``."""
    for factor, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


def _rate_axis(axis):
    """Log-scale ticks at 1, 2 and 5 of each decade, labelled ``20k``: several per panel."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_rate))
    axis.set_minor_formatter(NullFormatter())


def _sweep(ax, part, label):
    for name, rates in part["tokens_per_s"].items():
        points = [(v, r) for v, r in zip(part["values"], rates) if r]
        if points:
            color, marker, line = _STYLE[name]
            ax.plot(*zip(*points), color=color, marker=marker, linestyle=line,
                    label=LABELS.get(name, _FLOAT32))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(part["values"], [str(v) for v in part["values"]])
    ax.minorticks_off()
    _rate_axis(ax.yaxis)
    ax.tick_params(labelsize=9)
    ax.set_xlabel(label)
    ax.set_ylabel("tokens/s (float64 unless marked)")
    ax.grid(True, alpha=0.3)


def plot_scaling(scaling, axes=None):
    """Tokens/s over H and over T, log-log, one line per implementation.

    Parameters
    ----------
    scaling : dict
        As returned by :func:`~normrnn.bench.scaling_benchmark`.
    axes : pair of matplotlib.axes.Axes, optional
        Drawn into if given; a new figure's otherwise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10.4, 4.8))
    _sweep(axes[0], scaling["hidden_size"], "hidden size H")
    axes[0].set_title(f"over H, T={scaling['hidden_size']['fixed']}", fontsize=10)
    _sweep(axes[1], scaling["length"], "document length T")
    axes[1].set_title(f"over T, H={scaling['length']['fixed']}", fontsize=10)
    figure = axes[0].figure
    # one legend for both panels, below them, where it hides no line
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    figure.tight_layout(rect=(0, 0.13, 1, 1))
    return figure


def plot_results(results):
    """One figure of all the results: the step bars, and the sweeps if measured.

    Parameters
    ----------
    results : dict
        As returned by :func:`~normrnn.bench.run_benchmark`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    panels = 3 if results.get("scaling") else 1
    figure, axes = plt.subplots(1, panels, figsize=(5.6 * panels, 4.4), squeeze=False)
    plot_step(results["step"], results["config"], axes[0][0])
    if panels == 3:
        plot_scaling(results["scaling"], axes[0][1:])
    figure.tight_layout()
    return figure
