"""Plots of the benchmark: tokens/s of one step, over H and T (log-log), and where a batch's time goes."""

import numpy as np

from .implementations import LABELS

_STYLE = {"normrnn": ("C0", "o", "-"), "normrnn_float32": ("C0", "o", "--"),
          "by_section": ("C2", "s", "-"), "numpy": ("C1", "^", "-"),
          "torch": ("C3", "v", "-"), "torch_per_token": ("C3", "v", ":")}
_FLOAT32 = "normrnn (fast BPTT), float32"
_DARK = ("#1f4e8c", "#3a78c2")          # phase colours that take white labels


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


def plot_phases(phases, ax, step=None):
    """Stacked bars of a batch's time, phase by phase, one bar per dtype (share of the call).

    The matrix products are drawn in blue, the rest (elementwise work,
    copies) in warm colours.  With ``step``, a tick on each bar marks the
    time all the products would take at the square gemm's rate.

    Parameters
    ----------
    phases : dict
        The ``"phases"`` part of :func:`~normrnn.bench.run_benchmark`'s results.
    ax : matplotlib.axes.Axes
        Drawn into.
    step : dict, optional
        The ``"step"`` part, whose ``peak_gflops`` places the ticks.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .phases import PRODUCTS, seconds_at_peak

    dtypes = list(phases)
    names = list(phases[dtypes[0]]["phases"])
    order = [n for n in names if n in PRODUCTS] + [n for n in names if n not in PRODUCTS]
    blues, warm = iter((*_DARK, "#8db7e6")), iter(
        ("#d95f02", "#e6ab02", "#a6761d", "#bbbbbb", "#777777"))
    colours = {n: next(blues) if n in PRODUCTS else next(warm) for n in order}
    for i, dtype in enumerate(dtypes):
        part = phases[dtype]
        left = 0.0
        for name in order:
            share = 100 * part["phases"][name] / part["seconds"]
            ax.barh(i, share, left=left, color=colours[name], edgecolor="white",
                    label=name if i == 0 else None)
            if share >= 6:
                ax.text(left + share / 2, i, f"{share:.0f}%", ha="center", va="center",
                        fontsize=8, color="white" if colours[name] in _DARK else "black")
            left += share
        peak = (step or {}).get(dtype, {}).get("peak_gflops")
        if peak:
            at_peak = 100 * seconds_at_peak(part, peak) / part["seconds"]
            ax.plot([at_peak, at_peak], [i - 0.45, i + 0.45], color="black", lw=2)
    ax.set_yticks(range(len(dtypes)), dtypes)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of one call's wall time (%)")
    ax.set_title(f"where a batch's time goes: B={phases[dtypes[0]]['batch_size']}, one thread"
                 + ("; black: the products at the gemm peak" if step else ""), fontsize=10)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
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
    """One figure of all the results: the step bars, the sweeps and the phases if measured.

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
    phases = results.get("phases")
    height = 4.4 + 2.4 * bool(phases)                 # inches: the step (and sweeps) row, phases
    figure = plt.figure(figsize=(5.6 * panels, height))
    grid = figure.add_gridspec(1 + bool(phases), panels,
                               height_ratios=[2.4, 4.4] if phases else None)
    row = 1 if phases else 0                  # the phases on top: the sweeps' legend is below
    axes = [figure.add_subplot(grid[row, i]) for i in range(panels)]
    plot_step(results["step"], results["config"], axes[0])
    if panels == 3:
        plot_scaling(results["scaling"], axes[1:])
    if phases:
        plot_phases(phases, figure.add_subplot(grid[0, :]), results.get("step"))
    figure.tight_layout(rect=(0, 0.13 * 4.4 / height if panels == 3 else 0, 1, 1))
    return figure
