"""The hh gradient of BPTT as an explicit sum over steps, split by how far each term is
carried back (``unrolled_hh``)."""

import numpy as np

from ... import reference
from ..beyond import BOTH, Exercise, ExtraCase, Mistake
from ._shared import EXACT, _DOCUMENTS, _Check, _array, _document, _rel, _tags


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


REGISTRY = {
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
}

