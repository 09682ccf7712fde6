"""Proofs you can check: the learner answers with a number or a small function.

Five exercises, each a claim of the docs turned into a question whose answer
the grader can check numerically and explain:

``max_slope``
    The maximum of abs(f') for f(x) = 1 - 1/(x^2 + x + 1), and every x where it
    is reached: ``max_slope()`` returns (maximum, where).
``spectral_bound``
    ||S||_2 <= 1/sqrt(H) for the fixed gain, and an S that reaches it:
    ``spectral_bound(H)`` returns (bound, scaled_hh); the grader checks the
    bound, that every row of the S has length 1/H (what the row
    normalisation makes, so S is reachable) and that ||S||_2 equals it, for
    several H.
``unrolled_hh``
    The hh gradient of BPTT as an explicit sum over steps, split by how many
    steps each term is carried back: ``unrolled_hh(scaled_hh, states, middles,
    state_grads)`` returns the terms; their sum, put through the row
    normalisation, must be the package's BPTT gradient of W_hh.
``complex_step``
    The complex-step derivative of f: ``complex_step(middle)`` returns f' at
    every entry, to about 1e-15 relative, also where f' is tiny (near
    x = -1/2, or abs(x) large), which finite differences cannot reach.
``truncation_bias``
    What truncated BPTT drops from each state gradient, measured, and the
    bound H^(-d/2) / (1 - H^(-1/2)) max||E^T dz|| on it
    (:func:`normrnn.bounds.truncation_bound`).

A proof is judged by its case (:func:`judge`), in the grading process: the
outputs are read from the child like a section's (inputs left alone, the
same on two calls), then each exercise's own check measures them, and
:func:`diagnose` names a known mistake or explains, with the measured
numbers, what is wrong.  An answer that returns a constant where a function
is asked fails: the cases vary H, T and the number of steps.
"""

import numpy as np

from .. import bounds, gradcheck, reference
from .beyond import BOTH, FLOAT64, Exercise, ExtraCase, Mistake

__all__ = ["REGISTRY", "judge", "diagnose", "max_slope", "spectral_bound", "unrolled_hh",
           "complex_step", "truncation_bias", "unrolled_terms", "dropped_parts"]

#: Relative error a float64 answer must reach; derived answers reach about 1e-15.
EXACT = 1e-12
#: The complex step's accuracy, entry by entry, relative to f'(x) there.
COMPLEX_STEP = 1e-13


def _rel(got, want):
    """Relative error of ``got`` against ``want`` (max-abs over max-abs), as the grader's."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    error = np.abs(got - want).max(initial=0.0)
    scale = np.abs(want).max(initial=0.0)
    return float(error / scale) if scale > 0 else float(error)


def _f(x):
    return 1.0 - 1.0 / (x * x + x + 1.0)


def _f_prime(x):
    return (2.0 * x + 1.0) / (x * x + x + 1.0) ** 2


# --- the right answers (what ``normrnn exercise solution`` prints) ---------------------

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


def spectral_bound(H):
    """The bound 1/sqrt(H) on ||S||_2, and a row-normalised S that reaches it.

    Every row of S has length 1/H, so ||S||_2 <= ||S||_F = sqrt(H / H^2); the
    first inequality is an equality exactly when S has rank one: every row
    along one direction.

    Parameters
    ----------
    H : int

    Returns
    -------
    bound : float
    scaled_hh : ndarray, shape (H, H)
    """
    scaled_hh = np.ones((H, H)) / (H * np.sqrt(H))      # every row ones / sqrt(H), times 1/H
    return 1.0 / np.sqrt(H), scaled_hh


def unrolled_hh(scaled_hh, states, middles, state_grads):
    """The hh gradient of BPTT split by the number of steps each term is carried back.

    terms[d - 1] = sum over t of D_t (S^T D_{t+1}) ... (S^T D_{t+d-1}) e_{t+d} s_t^T,
    D_t = diag(f'(a_t)), e_k = d loss_k / d s_k; the sum over d is dL/dS.

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
    states : ndarray, shape (T, H)
    middles : ndarray, shape (T - 1, H)
    state_grads : ndarray, shape (T, H)

    Returns
    -------
    terms : ndarray, shape (T - 1, H, H)
    """
    T, H = states.shape
    slopes = (2 * middles + 1) / (middles**2 + middles + 1) ** 2
    terms = np.zeros((max(T - 1, 0), H, H), dtype=states.dtype)
    for t in range(T - 1):
        for d in range(1, T - t):                         # e_{t+d} carried back d steps
            v = state_grads[t + d]
            for k in range(t + d - 1, t, -1):             # S^T D_k, k = t+d-1 down to t+1
                v = scaled_hh.T @ (slopes[k] * v)
            terms[d - 1] += np.outer(slopes[t] * v, states[t])
    return terms


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


def truncation_bias(scaled_hh, middles, state_grads, steps):
    """What truncating BPTT to ``steps`` positions drops from each g_t, and its bound.

    g_t = sum over tau >= t of J_t^T ... J_{tau-1}^T e_tau, J_k^T v = S^T (f'(a_k) v);
    the dropped part is that of tau >= t + steps, which is J_t^T ... J_{t+steps-1}^T
    g_{t+steps}.  Each J^T shrinks a vector by at most max|f'| ||S||_2 <= H^(-1/2).

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
    middles : ndarray, shape (T - 1, H)
    state_grads : ndarray, shape (T, H)
        e_tau = E^T dz_tau (zero on the title).
    steps : int
        d >= 1.

    Returns
    -------
    dropped : ndarray, shape (T - steps,)
        ||dropped part of g_t|| for t = 0 .. T - 1 - steps.
    bound : float
        H^(-d/2) / (1 - H^(-1/2)) * max_tau ||e_tau||.
    """
    T, H = state_grads.shape
    slopes = (2 * middles + 1) / (middles**2 + middles + 1) ** 2
    grads = state_grads.copy()
    for t in range(T - 2, -1, -1):                         # g_t = e_t + J_t^T g_{t+1}
        grads[t] += scaled_hh.T @ (slopes[t] * grads[t + 1])
    dropped = np.zeros(max(T - steps, 0), dtype=state_grads.dtype)
    for t in range(T - steps):
        v = grads[t + steps]
        for k in range(t + steps - 1, t - 1, -1):
            v = scaled_hh.T @ (slopes[k] * v)
        dropped[t] = np.linalg.norm(v)
    rho = H**-0.5
    return dropped, float(rho**steps / (1 - rho) * np.linalg.norm(state_grads, axis=1).max())


# --- the grader's own computations --------------------------------------------------------

def unrolled_terms(scaled_hh, states, middles, state_grads, *, slopes=True, transpose=True,
                   wrote=False):
    """The terms of :func:`unrolled_hh`, computed another way (vectors carried forward
    in distance), with the named mistakes as options: no f' factors, S where S^T is
    due, the state the step wrote (s_{t+1}) where the one it read is due."""
    T, H = states.shape
    D = reference.activation_grad(middles) if slopes else np.ones_like(middles)
    M = scaled_hh.T if transpose else scaled_hh
    terms = np.zeros((max(T - 1, 0), H, H))
    for k in range(1, T):                                 # the position whose e_k is carried
        v = D[k - 1] * state_grads[k]                     # to step k - 1: distance 1
        for t in range(k - 1, -1, -1):
            read = states[t + 1] if wrote else states[t]
            terms[k - t - 1] += np.outer(v, read)
            if t:
                v = D[t - 1] * (M @ v)
    return terms


def dropped_parts(scaled_hh, middles, state_grads, steps, *, first_only=False, slopes=True):
    """Norms of the parts of g_t from positions >= t + steps, the grader's way (the sum of
    its terms); ``first_only`` keeps the term of position t + steps alone, ``slopes=False``
    leaves f' out of the Jacobians."""
    T, H = state_grads.shape
    D = reference.activation_grad(middles) if slopes else np.ones_like(middles)
    out = np.zeros(max(T - steps, 0))
    for t in range(T - steps):
        total = np.zeros(H)
        for tau in range(t + steps, T if not first_only else t + steps + 1):
            v = state_grads[tau]
            for k in range(tau - 1, t - 1, -1):
                v = scaled_hh.T @ (D[k] * v)
            total += v
        out[t] = np.linalg.norm(total)
    return out


def _bound(H, steps, largest, *, power=0.5, shift=0, tail=True):
    rho = H ** -power
    return rho ** (steps + shift) / ((1 - rho) if tail else 1.0) * largest


# --- the cases ------------------------------------------------------------------------------

def _document(rng, large, T, m):
    """A model and a document: S, states, middles, state gradients, and what made them."""
    # not H = 4, where rho / (1 - rho) = 1 makes two wrong bounds equal
    H = int(rng.integers(7, 10) if large else rng.integers(2, 4))
    V = H + int(rng.integers(2, 5))
    params = gradcheck._pseudocode_parameters(rng, V=V, H=H)
    embedding, ih, hh, bias = params
    tokens = [int(x) for x in rng.integers(0, V, size=T)]
    scaled_hh = reference.row_normalise(hh)
    states = reference.forward(*params, tokens)
    middles = np.array([scaled_hh @ states[t] + ih @ reference.activation(embedding[tokens[t]])
                        + bias for t in range(T - 1)]).reshape(T - 1, H)
    state_grads = np.array([reference.logits_backward(embedding, states[t], tokens[t])[2]
                            if t >= m else np.zeros(H) for t in range(T)])
    return params, tokens, scaled_hh, states, middles, state_grads


def _tags(H, T, m, extra=()):
    return (f"H = {H}", f"T = {T}", *(("m = 0",) if m == 0 else ("m = T - 1",) if m == T - 1
                                      else (f"m = {m}",)), *extra)


def _max_slope_cases(seed):
    right = max_slope()
    want = {"maximum": np.asarray(right[0]), "where": right[1]}
    return [ExtraCase("max_slope", (), want, want, {}, (), FLOAT64, mistakes=_max_slope_mistakes,
                      check=_max_slope_check)]


_SPECTRAL_H = (1, 2, 3, 5, 8, 16)


def _spectral_cases(seed):
    cases = []
    for H in _SPECTRAL_H:
        bound, scaled_hh = spectral_bound(H)
        want = {"bound": np.asarray(bound), "scaled_hh": scaled_hh}
        cases.append(ExtraCase("spectral_bound", (H,), want, want, {"H": H}, (f"H = {H}",),
                               FLOAT64, mistakes=_spectral_mistakes, check=_spectral_check))
    return cases


#: The documents of the unrolled sum and the truncation: (large, T, m, steps).
_DOCUMENTS = ((False, 6, 1, 1), (True, 9, 0, 3), (False, 2, 0, 1), (True, 1, 0, 1),
              (False, 8, 7, 2), (True, 5, 0, 5))


def _unrolled_cases(seed):
    rng = np.random.default_rng([seed, 203])
    cases = []
    for large, T, m, _ in _DOCUMENTS:
        params, tokens, scaled_hh, states, middles, state_grads = _document(rng, large, T, m)
        H = scaled_hh.shape[0]
        mine = unrolled_terms(scaled_hh, states, middles, state_grads)
        package = reference.loss_and_grads(*params, tokens, m)[1]["hh"]
        cases.append(ExtraCase(
            "unrolled_hh", (scaled_hh, states, middles, state_grads),
            {"terms": package}, {"terms": mine}, {"H": H, "T": T}, _tags(H, T, m), BOTH,
            mistakes=_unrolled_mistakes, check=_unrolled_check, tolerance64=EXACT,
            hidden={"hh": params[2]}))
    return cases


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


def _truncation_cases(seed):
    rng = np.random.default_rng([seed, 205])
    cases = []
    for large, T, m, steps in _DOCUMENTS:
        if T <= 1:
            continue
        params, tokens, scaled_hh, states, middles, state_grads = _document(rng, large, T, m)
        H = scaled_hh.shape[0]
        dropped, direct = bounds.dropped_gradient_norms(*params, tokens, m, steps)
        package = {"dropped": dropped,
                   "bound": np.asarray(bounds.truncation_bound(H, steps, direct.max()))}
        mine = {"dropped": dropped_parts(scaled_hh, middles, state_grads, steps),
                "bound": np.asarray(_bound(H, steps, np.linalg.norm(state_grads, axis=1).max()))}
        cases.append(ExtraCase(
            "truncation_bias", (scaled_hh, middles, state_grads, steps), package, mine,
            {"H": H, "T": T}, _tags(H, T, m, (f"d = {steps}",)), BOTH,
            mistakes=_truncation_mistakes, check=_truncation_check, tolerance64=EXACT))
    return cases


# --- the checks: shapes, errors, and what a wrong answer shows -----------------------------

class _Check:
    """An exercise's check: ``shape(case, got)`` -> problem or "", ``errors(case, got, want)``
    -> {output: (vs the independent answer, vs the grader's)}, ``explain(case, got)`` -> a
    measured sentence on what is wrong (where no known mistake matches)."""

    def __init__(self, shape, errors, explain):
        self.shape, self.errors, self.explain = shape, errors, explain


def _number(name, value):
    if isinstance(value, np.ndarray) and value.shape == () or isinstance(value, float):
        return ""
    return f"{name} must be a number, got {_kind(value)}"


def _kind(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return str(value) if isinstance(value, str) else f"a {type(value).__name__}"


def _array(name, value, shape, what):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        return f"{name} must be a numpy array of numbers, got {_kind(value)}"
    if value.shape != tuple(shape):
        return f"{name} has shape {value.shape}, expected {tuple(shape)} ({what})"
    return ""


def _first(*problems):
    return next((p for p in problems if p), "")


# max_slope

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


# spectral_bound

def _spectral_shape(case, got):
    H = case.args64[0]
    return _first(_number("bound", got["bound"]),
                  _array("scaled_hh", got["scaled_hh"], (H, H), "an H x H matrix S"))


def _row_lengths(scaled_hh):
    return np.linalg.norm(np.asarray(scaled_hh, dtype=np.float64), axis=1)


def _spectral_errors(case, got, want):
    H = case.args64[0]
    bound = _rel(got["bound"], want["bound"])
    S = np.asarray(got["scaled_hh"], dtype=np.float64)
    rows = float(np.abs(_row_lengths(S) * H - 1).max())
    norm = abs(np.linalg.norm(S, 2) * np.sqrt(H) - 1)
    matrix = max(rows, norm)
    return {"bound": (bound, bound), "scaled_hh": (matrix, matrix)}


def _spectral_explain(case, got):
    H = case.args64[0]
    S = np.asarray(got["scaled_hh"], dtype=np.float64)
    parts = []
    if _rel(got["bound"], 1 / np.sqrt(H)) > EXACT:
        parts.append(f"bound: {float(got['bound']):.6g} where 1/sqrt(H) = {1 / np.sqrt(H):.6g} "
                     f"(H = {H}): every row of S has length 1/H, so ||S||_F = 1/sqrt(H)")
    lengths = _row_lengths(S) * H
    if np.abs(lengths - 1).max() > EXACT:
        i = int(np.argmax(np.abs(lengths - 1)))
        parts.append(f"S is not reachable: row {i} has length {lengths[i]:.4g}/H, where the row "
                     "normalisation gives every row length exactly 1/H")
    else:
        ratio = np.linalg.norm(S, 2) * np.sqrt(H)
        if abs(ratio - 1) > EXACT:
            rank = int(np.linalg.matrix_rank(S, tol=1e-10 / H))
            parts.append(f"||S||_2 = {ratio:.4g}/sqrt(H): S has rank {rank}; ||S||_2 = ||S||_F "
                         "only for rank one, every row along one direction (signs may differ)")
    return "; ".join(parts)


_SPECTRAL = _Check(_spectral_shape, _spectral_errors, _spectral_explain)


def _spectral_check(case):
    return _SPECTRAL


def _spectral_mistakes(case):
    H = case.args64[0]
    return [
        Mistake("the bound 1/H is the smallest ||S||_2 can be (rows orthogonal), not the "
                "largest", {"bound": np.asarray(1 / H)}),
        Mistake("the bound 1 holds but is not the tight one: ||S||_2 <= ||S||_F = "
                "sqrt(H (1/H)^2) = 1/sqrt(H)", {"bound": np.asarray(1.0)}),
        Mistake("sqrt(H) where 1/sqrt(H) is due (||S||_F^2 = H (1/H)^2 = 1/H)",
                {"bound": np.asarray(np.sqrt(H))}),
    ]


# unrolled_hh

def _unrolled_shape(case, got):
    T, H = case.args64[1].shape
    return _array("terms", got["terms"], (max(T - 1, 0), H, H),
                  "(T - 1, H, H): terms[d - 1] is carried back d steps")


def _sum_through_package(case, terms):
    return reference.row_normalise_backward(case.hidden["hh"], np.asarray(terms).sum(axis=0))


def _unrolled_errors(case, got, want):
    terms = np.asarray(got["terms"], dtype=np.float64)
    whole = _rel(_sum_through_package(case, terms), case.finite_differences["terms"])
    return {"terms": (whole, _rel(terms, want["terms"]))}


def _unrolled_explain(case, got):
    terms = np.asarray(got["terms"], dtype=np.float64)
    whole = _rel(_sum_through_package(case, terms), case.finite_differences["terms"])
    split = _rel(terms, case.reference["terms"])
    if whole <= 1e-6 < split:
        return ("the sum is right but the split by distance is not: terms[d - 1] must hold "
                "exactly the terms carried back d steps")
    return ""


_UNROLLED = _Check(_unrolled_shape, _unrolled_errors, _unrolled_explain)


def _unrolled_check(case):
    return _UNROLLED


def _unrolled_mistakes(case):
    args = case.args64
    right = case.reference["terms"]
    stacked = np.zeros_like(right)
    if len(right):
        stacked[0] = right.sum(axis=0)
    return [
        Mistake("f'(a) is left out of the steps: each step back multiplies by "
                "D_k = diag(f'(a_k)) as well as S^T", {"terms": unrolled_terms(*args,
                                                                             slopes=False)}),
        Mistake("S where S^T is due: one step back is S^T D_k", {"terms": unrolled_terms(
            *args, transpose=False)}),
        Mistake("the state the step wrote: s_{t+1} where s_t, the state the step read, is due",
                {"terms": unrolled_terms(*args, wrote=True)}),
        Mistake("cumulative: terms[d - 1] holds every distance up to d, where the terms of "
                "distance d alone are due", {"terms": np.cumsum(right, axis=0)}),
        Mistake("the whole sum in terms[0]: the recursion's dS, not split by distance",
                {"terms": stacked}),
    ]


# complex_step

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
                             {"slope": (1 - 1 / (z * z + z + 1)).imag / h}))
    for h in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
        label = (f"finite differences (h = {h:.0e}), not the complex step: f(x + h) - f(x) "
                 "cancels, so its error does not shrink with f'")
        found.append(Mistake(label, {"slope": (_f(x + h) - _f(x - h)) / (2 * h)}))
        found.append(Mistake(label, {"slope": (_f(x + h) - _f(x)) / h}))
    return found


# truncation_bias

def _truncation_shape(case, got):
    T = case.args64[2].shape[0]
    steps = case.args64[3]
    return _first(_array("dropped", got["dropped"], (T - steps,),
                         "one norm per t = 0 .. T - 1 - steps"),
                  _number("bound", got["bound"]))


def _truncation_errors(case, got, want):
    return {k: (_rel(got[k], case.finite_differences[k]), _rel(got[k], want[k]))
            for k in ("dropped", "bound")}


def _truncation_explain(case, got):
    dropped = np.asarray(got["dropped"], dtype=np.float64)
    bound = float(got["bound"])
    over = dropped.max(initial=0.0) > bound * (1 + 1e-9)
    return (f"your dropped parts exceed your bound ({dropped.max():.3g} > {bound:.3g}): one "
            "of them is wrong, since the bound holds for every S with the fixed gain"
            if over else "")


_TRUNCATION = _Check(_truncation_shape, _truncation_errors, _truncation_explain)


def _truncation_check(case):
    return _TRUNCATION


def _truncation_mistakes(case):
    scaled_hh, middles, state_grads, steps = case.args64
    H = scaled_hh.shape[0]
    largest = np.linalg.norm(state_grads, axis=1).max()
    return [
        Mistake("the bound's exponent one too large: the dropped terms are carried back d or "
                "more steps, so the first is at most H^(-d/2) max||E^T dz||, not H^(-(d+1)/2)",
                {"bound": np.asarray(_bound(H, steps, largest, shift=1))}),
        Mistake("the bound's exponent one too small: H^(-(d-1)/2), where H^(-d/2) is due",
                {"bound": np.asarray(_bound(H, steps, largest, shift=-1))}),
        Mistake("only the first dropped term is bounded: the rest of the tail is a geometric "
                "series, so divide by 1 - H^(-1/2)",
                {"bound": np.asarray(_bound(H, steps, largest, tail=False))}),
        Mistake("||S||_2 <= 1/H is not a bound (it is the smallest ||S||_2 can be): one step "
                "shrinks by at most 1/sqrt(H)",
                {"bound": np.asarray(_bound(H, steps, largest, power=1.0))}),
        Mistake("only the first dropped term, the one of position t + d: the dropped part is "
                "all of g_{t+d} carried back d steps",
                {"dropped": dropped_parts(*case.args64, first_only=True)}),
        Mistake("f'(a) is left out of the steps: J_k^T v = S^T (f'(a_k) v)",
                {"dropped": dropped_parts(*case.args64, slopes=False)}),
    ]


# --- judging a proof ----------------------------------------------------------------------

def tolerance(case, dtype):
    """The relative error an output of ``case`` may have in ``dtype``."""
    if case.name == "complex_step":
        return COMPLEX_STEP
    if np.dtype(dtype) == np.float64:
        return case.tolerance64 or EXACT
    return gradcheck.TOLERANCES[np.dtype(dtype)]


def _read(case, dtype, outcome):
    """The learner's outputs as numbers and arrays, after the checks every exercise shares:
    no exception, inputs left alone, no input returned, the same on two calls."""
    from . import child
    from .grading import _Bad, _same, _unchanged
    if not isinstance(outcome, dict):
        raise child.Malformed("an outcome must be an object")
    if "failure" in outcome:
        if not isinstance(outcome["failure"], str):
            raise child.Malformed("a failure must be a sentence")
        raise _Bad(outcome["failure"])
    outputs = REGISTRY[case.name].outputs
    inputs = REGISTRY[case.name].inputs
    if set(outcome) != {"outputs", "again", "inputs_after", "aliased"} or not all(
            isinstance(outcome[k], dict) and set(outcome[k]) == set(outputs)
            for k in ("outputs", "again")):
        raise child.Malformed("the outputs are not the exercise's")
    first = {k: child.decode_output(outcome["outputs"][k]) for k in outputs}
    second = {k: child.decode_output(outcome["again"][k]) for k in outputs}
    after = outcome["inputs_after"]
    if not isinstance(after, list) or len(after) != len(inputs):
        raise child.Malformed("the inputs after the call are not the exercise's")
    problems = [f"changed its input `{name}` (leave the inputs as they were)"
                for name, before, now in zip(inputs, case.args(dtype),
                                             [child.decode_argument(a) for a in after])
                if not _unchanged(before, now)]
    if not isinstance(outcome["aliased"], list):
        raise child.Malformed("aliased must be a list")
    for item in outcome["aliased"]:
        if not (isinstance(item, list) and len(item) == 3 and item[0] in outputs
                and item[1] in inputs):
            raise child.Malformed("bad aliased entry")
        problems.append(f"its output `{item[0]}` shares memory with its input `{item[1]}`: "
                        "return a new array")
    for k in outputs:
        if not _same(first[k], second[k]):
            problems.append(f"{k} differs between two calls on the same inputs")
    if problems:
        raise _Bad("; ".join(dict.fromkeys(problems)))
    for k, value in first.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and \
                len(case.dtypes) > 1 and value.dtype != dtype:
            raise _Bad(f"{k} has dtype {value.dtype}, expected {dtype} (the dtype of the inputs)")
        if isinstance(value, (np.ndarray, float)) and not np.isfinite(value).all():
            raise _Bad(f"{k} contains NaN or inf")
    return first


def judge(case, dtype, outcome):
    """Grade one case of a proof from the child's ``outcome``.

    Parameters
    ----------
    case : ExtraCase
    dtype : numpy.dtype
    outcome : dict
        What :func:`.child.run_call` reported.

    Returns
    -------
    normrnn.exercises.grading.CaseResult
    """
    from . import child
    from .grading import CaseResult, Errors, _Bad
    tol = tolerance(case, dtype)
    tags = (*case.tags, *((np.dtype(dtype).name,) if len(case.dtypes) > 1 else ()))
    description = case.describe(dtype)
    try:
        got = _read(case, dtype, outcome)
    except _Bad as bad:
        return CaseResult(description, tags, False, message=str(bad), tolerance=tol)
    except Exception as exc:                 # anything else in it was forged or broken
        exc = exc if isinstance(exc, child.Malformed) else f"{type(exc).__name__}: {exc}"
        return CaseResult(description, tags, False, tolerance=tol,
                          message=f"the grading process received a malformed answer ({exc})")
    check = case.check(case)
    problem = check.shape(case, got)
    if problem:
        label = _match(case, got, tol)
        return CaseResult(description, tags, False, tolerance=tol,
                          message=problem + (f"; diagnosis: {label}" if label else ""))
    got = {k: np.asarray(v, dtype=np.float64) for k, v in got.items()}
    errors = {k: Errors(*e) for k, e in check.errors(case, got, case.reference).items()}
    passed = all(max(e) <= tol for e in errors.values())
    return CaseResult(description, tags, passed, errors, "", tol, got)


def _match(case, got, tolerance):
    """The label of the first known mistake ``got`` matches (shapes included), or "".

    ``got`` matches a mistake when it is within the tolerance of the mistake's
    answer, or a thousand times nearer to it than the mistake is to the right
    answer: two mistakes that are both near the right answer (a finite
    difference and a complex step with too large an h) are told apart.
    """
    check = case.check(case)
    got = {k: v if isinstance(v, str) else np.asarray(v, dtype=np.float64)
           for k, v in got.items()}
    for mistake in case.mistakes(case):
        want = {**case.reference, **mistake.outputs}
        if any(isinstance(got[k], str) or got[k].shape != np.shape(want[k]) for k in got):
            continue
        distance = max(e[1] for e in check.errors(case, got, want).values())
        try:
            apart = max(e[1] for e in check.errors(case, want, case.reference).values())
        except ValueError:                      # the mistake has another shape
            apart = 1.0
        if distance <= max(tolerance, 1e-3 * apart):
            return mistake.label
    return ""


def diagnose(case, got, tolerance, failing):
    """The known mistake ``got`` matches, else what the grader measured of it.

    Parameters
    ----------
    case : ExtraCase
    got : dict
        Output name -> the learner's value (float64).
    tolerance : float
    failing : list of str

    Returns
    -------
    str
    """
    return _match(case, got, tolerance) or case.check(case).explain(case, got)


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
    "spectral_bound": Exercise("spectral_bound", ("H",), ("bound", "scaled_hh"),
                               _spectral_cases, (
        "H", "exercises_beyond", "The norm bound of S and the S that reaches it",
        "The bound on ||S||_2 for the fixed gain, as a function of H, and an S that reaches it.",
        """H : int
    The hidden size (1 and more).

Returns
-------
bound : float
    The smallest number c(H) with ||S||_2 <= c(H) for every row-normalised S.
scaled_hh : ndarray, shape (H, H)
    A row-normalised S (every row of length exactly 1/H, as
    S[i] = W_hh[i] / (H ||W_hh[i]||) makes) with ||S||_2 equal to the bound.""",
        "Compare ||S||_2 with ||S||_F, whose value the row lengths fix.  When is "
        "||A||_2 = ||A||_F?  Think of the singular values."), spectral_bound),
    "unrolled_hh": Exercise("unrolled_hh", ("scaled_hh", "states", "middles", "state_grads"),
                            ("terms",), _unrolled_cases, (
        "scaled_hh, states, middles, state_grads", "exercises_beyond",
        "The unrolled sum of the hh gradient",
        "dL/dS written as an explicit sum over steps, split by how far each term is carried.",
        """scaled_hh : ndarray, shape (H, H)
    S.
states : ndarray, shape (T, H)
    s_0 .. s_{T-1} of the forward.
middles : ndarray, shape (T - 1, H)
    a_0 .. a_{T-2}: s_{t+1} = f(a_t), a_t = S s_t + W_ih u_t + b.
state_grads : ndarray, shape (T, H)
    e_k = d loss_k / d s_k = E^T dz_k, the direct gradient of position k
    (zero on the title).

Returns
-------
terms : ndarray, shape (T - 1, H, H)
    terms[d - 1]: the part of dL/dS made of the e_k carried back exactly
    d steps (k = t + d for the step t that reads s_t).  The sum over d is
    dL/dS, which the grader puts through the row normalisation and compares
    with the package's BPTT.""",
        "Unroll g_{t+1} = e_{t+1} + S^T D_{t+1} g_{t+2} with delta_t = D_t g_{t+1}, "
        "D_t = diag(f'(a_t)): delta_t is a sum over k > t of D_t (S^T D_{t+1}) ... "
        "(S^T D_{k-1}) e_k.  dL/dS = sum over t of delta_t s_t^T."), unrolled_hh),
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
    "truncation_bias": Exercise("truncation_bias",
                                ("scaled_hh", "middles", "state_grads", "steps"),
                                ("dropped", "bound"), _truncation_cases, (
        "scaled_hh, middles, state_grads, steps", "exercises_beyond",
        "The bias of truncated BPTT",
        "What truncating BPTT to d steps drops from each state gradient, and the bound on it.",
        """scaled_hh : ndarray, shape (H, H)
    S (the fixed gain).
middles : ndarray, shape (T - 1, H)
    a_0 .. a_{T-2}.
state_grads : ndarray, shape (T, H)
    e_tau = E^T dz_tau (zero on the title).
steps : int
    d >= 1: truncation keeps the positions t .. t + d - 1.

Returns
-------
dropped : ndarray, shape (T - d,)
    For t = 0 .. T - 1 - d, the norm of the part of g_t that comes from
    positions tau >= t + d.
bound : float
    The bound on every entry of dropped from ||S||_2 <= 1/sqrt(H) and
    max|f'| = 1, in terms of H, d and max_tau ||e_tau||.""",
        "g_t = sum over tau >= t of J_t^T ... J_{tau-1}^T e_tau with J_k^T v = S^T (f'(a_k) v). "
        "The dropped part is that of tau >= t + d.  Bound each term, then sum a "
        "geometric series."), truncation_bias),
}
