"""The complex-step derivative of f, to about 1e-15 relative, also where f' is tiny
(``complex_step``)."""

import numpy as np

from ..beyond import FLOAT64, Exercise, ExtraCase, Mistake
from ._shared import _Check, _array, _f, _f_prime


def complex_step(middle):
    """f'(x) at every entry of ``middle`` by the complex step: Im f(x + ih) / h.

    No difference is taken, so nothing cancels and h can be tiny: the error is
    h^2 f'''(x) / 6, far below rounding for h = 1e-20.

    Parameters
    ----------
    middle : ndarray

    Returns
    -------
    ndarray
    """
    h = 1e-20
    z = middle + 1j * h
    return (1.0 - 1.0 / (z * z + z + 1.0)).imag / h


def _complex_points(rng):
    jitter = lambda n: 1 + 0.1 * rng.random(n)           # noqa: E731
    return (
        ("f' = +-1, its extremes", np.concatenate([[-1.0, 0.0], np.linspace(-3, 3, 9)
                                                  + 0.05 * rng.normal(size=9)])),
        ("near x = -1/2, where f' is small", -0.5 + np.array([5e-3, -5e-3, 2e-2, -2e-2, 1e-1])
         * jitter(5)),
        ("|x| large, where f' is tiny", np.array([1e2, -1e3, 1e4, -1e5, 1e6]) * jitter(5)),
    )


def _complex_cases(seed):
    rng = np.random.default_rng([seed, 204])
    cases = []
    for tag, x in _complex_points(rng):
        want = {"slope": _f_prime(x)}
        cases.append(ExtraCase("complex_step", (x,), want, want, {"n": len(x)}, (tag,), FLOAT64,
                               mistakes=_complex_mistakes, check=_complex_check))
    return cases


def _complex_shape(case, got):
    x = case.args64[0]
    return _array("slope", got["slope"], x.shape, "f' at every entry of middle")


def _entrywise(got, want):
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(all="ignore"):
        return float(np.max(np.abs(got - want) / np.abs(want), initial=0.0))


def _complex_errors(case, got, want):
    error = _entrywise(got["slope"], want["slope"])
    return {"slope": (error, error)}


def _complex_explain(case, got):
    x = case.args64[0]
    slope = np.asarray(got["slope"], dtype=np.float64)
    want = case.reference["slope"]
    absolute = np.abs(slope - want)
    relative = absolute / np.abs(want)
    for label, like in (("the real part: Re f(x + ih) / h is about f(x) / h; the derivative is "
                         "the imaginary part", _f(x)),
                        ("not divided by h: Im f(x + ih) is h f'(x)", want)):
        with np.errstate(all="ignore"):
            ratio = slope / like
            ratio = ratio[np.isfinite(ratio)]
            c = np.median(ratio) if ratio.size else 0.0
            same = (np.isfinite(c) and abs(c - 1) > 1e-3 and c != 0
                    and np.abs(ratio / c - 1).max() < 1e-2)
        if same:
            return f"{label} (measured: your answer is {c:.3g} times it)"
    if relative.max() < 1e-2 and absolute.max() < 1e-5:
        worst = int(np.argmax(relative))
        return (f"agrees only to {relative.max():.0e} relative, worst at x = {x[worst]:.6g} "
                f"where f' = {want[worst]:.3g}: an error that does not shrink with f' is a "
                "subtraction's (finite differences); the complex step subtracts nothing")
    return ""


_COMPLEX = _Check(_complex_shape, _complex_errors, _complex_explain)


def _complex_check(case):
    return _COMPLEX


def _complex_mistakes(case):
    x = case.args64[0]
    found = []
    for h in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6):     # 1e-7 already passes
        z = x + 1j * h
        found.append(Mistake(f"h = {h:.0e} is too large for the complex step: its error is "
                             "h^2 f'''(x) / 6, and since nothing is subtracted h can be 1e-20",
                             {"slope": _f(z).imag / h}))
    for h in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
        label = (f"finite differences (h = {h:.0e}), not the complex step: f(x + h) - f(x) "
                 "cancels, so its error does not shrink with f'")
        found.append(Mistake(label, {"slope": (_f(x + h) - _f(x - h)) / (2 * h)}))
        found.append(Mistake(label, {"slope": (_f(x + h) - _f(x)) / h}))
    return found


REGISTRY = {
    "complex_step": Exercise("complex_step", ("middle",), ("slope",), _complex_cases, (
        "middle", "exercises_beyond", "The complex-step derivative",
        "f'(x) at every entry of middle, by the complex step, to about 1e-15 relative.",
        """middle : ndarray, shape (n,)
    The points x (float64).

Returns
-------
slope : ndarray, shape (n,)
    f'(x) at each point, f(x) = 1 - 1/(x^2 + x + 1), accurate to about
    1e-15 relative to f'(x) itself, also where f'(x) is tiny.""",
        "For f analytic and h real, f(x + ih) = f(x) + ih f'(x) - h^2 f''(x)/2 - "
        "ih^3 f'''(x)/6 + ...  Which part holds f'?  Nothing is subtracted, so how "
        "small may h be?"), complex_step),
}

