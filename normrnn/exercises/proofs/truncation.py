"""What truncated BPTT drops from each state gradient, and the bound on it
(``truncation_bias``)."""

import numpy as np

from ... import bounds, reference
from ..beyond import BOTH, Exercise, ExtraCase, Mistake
from ._shared import EXACT, _DOCUMENTS, _Check, _array, _document, _first, _number, _rel, _tags


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


REGISTRY = {
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

