"""The steepest slope of f: max abs(f') for f(x) = 1 - 1/(x^2 + x + 1), and every x where
it is reached (``max_slope``)."""

import numpy as np

from ..beyond import FLOAT64, Exercise, ExtraCase, Mistake
from ._shared import _Check, _array, _f_prime, _first, _number, _rel


def max_slope():
    """The maximum of abs(f'), f(x) = 1 - 1/(x^2 + x + 1), and every x where it is reached.

    f'(x) = (2x + 1) / q^2 with q = x^2 + x + 1, and
    f''(x) = 2 (q - (2x + 1)^2) / q^3 = -6 x (x + 1) / q^3, zero at x = 0 and
    x = -1, where f' = 1 and -1; f' -> 0 at both ends.

    Returns
    -------
    maximum : float
    where : ndarray
        Every x with abs(f'(x)) = maximum, ascending.
    """
    return 1.0, np.array([-1.0, 0.0])


def _max_slope_cases(seed):
    right = max_slope()
    want = {"maximum": np.asarray(right[0]), "where": right[1]}
    return [ExtraCase("max_slope", (), want, want, {}, (), FLOAT64, mistakes=_max_slope_mistakes,
                      check=_max_slope_check)]


def _max_slope_shape(case, got):
    where = got["where"]
    problem = _first(_number("maximum", got["maximum"]),
                     _array("where", where, where.shape if isinstance(where, np.ndarray)
                            and where.ndim == 1 else (len(case.reference["where"]),),
                            "a 1-d array of every x where |f'| reaches its maximum"))
    return problem or ("" if where.size == case.reference["where"].size else
                       f"where lists {where.size} point{'s' * (where.size != 1)}: it must list every "
                       "x where |f'(x)| equals its maximum")


def _max_slope_errors(case, got, want):
    maximum = _rel(got["maximum"], want["maximum"])
    where = _rel(np.sort(got["where"]), np.sort(want["where"]))
    return {"maximum": (maximum, maximum), "where": (where, where)}


def _max_slope_explain(case, got):
    at = np.abs(_f_prime(np.asarray(got["where"], dtype=np.float64)))
    error = max(e for e, _ in _max_slope_errors(case, got, case.reference).values())
    if error < 1e-3:
        return (f"close but not exact (to {error:.0e}): a grid search or an optimiser finds "
                "the points only approximately; solve f''(x) = 0 exactly")
    return (f"|f'| at the points given is {', '.join(f'{a:.4g}' for a in at)}: compare "
            "with the maximum you state, and solve f''(x) = 0")


_MAX_SLOPE = _Check(_max_slope_shape, _max_slope_errors, _max_slope_explain)


def _max_slope_check(case):
    return _MAX_SLOPE


def _max_slope_mistakes(case):
    r3 = np.sqrt(3.0)
    return [
        Mistake("the maximum of f' only: f' = 1 at x = 0, but |f'| = 1 also where f' = -1 "
                "(|f'| needs both signs)", {"where": np.array([0.0])}),
        Mistake("x = -1/2 is where f' = 0 (the minimum of f): there |f'| is smallest; the "
                "maximum of |f'| is where f'' = 0", {"maximum": np.asarray(0.0),
                                                     "where": np.array([-0.5])}),
        Mistake("f' without the square in its denominator: (2x + 1) / (x^2 + x + 1) peaks at "
                "2/sqrt(3); f'(x) = (2x + 1) / (x^2 + x + 1)^2",
                {"maximum": np.asarray(2 / r3), "where": np.array([(-1 - r3) / 2,
                                                                   (-1 + r3) / 2])}),
        Mistake("the extremum of f (its minimum -1/3 at x = -1/2), not of |f'|",
                {"maximum": np.asarray(-1 / 3), "where": np.array([-0.5])}),
        Mistake("the value of f at the points (f(0) = f(-1) = 0), not of |f'|",
                {"maximum": np.asarray(0.0)}),
    ]


REGISTRY = {
    "max_slope": Exercise("max_slope", (), ("maximum", "where"), _max_slope_cases, (
        "", "exercises_beyond", "The steepest slope of f",
        "The maximum of abs(f') for f(x) = 1 - 1/(x^2 + x + 1), and every x where it is "
        "reached.",
        """(none): the answer is two values, found on paper.

Returns
-------
maximum : float
    max over x of abs(f'(x)).
where : ndarray, shape (n,)
    Every x at which abs(f'(x)) equals the maximum (any order).""",
        "Write f'(x) = (2x + 1)/q^2 with q = x^2 + x + 1, then f''(x) over a common "
        "denominator.  abs(f') is largest where f' is largest or smallest: mind both signs."),
        max_slope),
}

