"""A picture of a grade: each output's error against the tolerance."""

import textwrap

import numpy as np

__all__ = ["plot_grade"]


def plot_grade(result, ax=None):
    """Bars of each output's relative error (log scale) against the tolerance.

    An exercise that is not started, or whose answer could not be read, is
    drawn as its message.

    Parameters
    ----------
    result : normrnn.exercises.Grade
    ax : matplotlib.axes.Axes, optional
        Default: a new figure's axes.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2.8), layout="constrained")
    ax.set_title(f"{result.name}: {result.status}", fontsize=11)
    if not result.errors:
        ax.text(0.5, 0.5, result.message or result.status, ha="center", va="center",
                wrap=True, fontsize=10, transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    names = list(result.errors)
    errors = np.array([max(e.finite_differences, 1e-17) for e in result.errors.values()])
    colours = ["C0" if e <= result.tolerance else "C3" for e in errors]
    ax.barh(names[::-1], errors[::-1], color=colours[::-1])
    ax.axvline(result.tolerance, color="k", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-17, 1e3)
    ax.set_xlabel("relative error against finite differences (dashed: tolerance)")
    if result.diagnosis:
        ax.set_title(f"{result.name}: {result.status}\n"
                     + textwrap.fill("diagnosis: " + result.diagnosis, 90), fontsize=9)
    return ax
