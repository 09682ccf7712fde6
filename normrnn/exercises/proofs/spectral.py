"""The norm bound of S and the S that reaches it: ||S||_2 <= 1/sqrt(H) for the fixed gain
(``spectral_bound``)."""

import numpy as np

from ..beyond import FLOAT64, Exercise, ExtraCase, Mistake
from ._shared import EXACT, _Check, _array, _first, _number, _rel


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


_SPECTRAL_H = (1, 2, 3, 5, 8, 16)


def _spectral_cases(seed):
    cases = []
    for H in _SPECTRAL_H:
        bound, scaled_hh = spectral_bound(H)
        want = {"bound": np.asarray(bound), "scaled_hh": scaled_hh}
        cases.append(ExtraCase("spectral_bound", (H,), want, want, {"H": H}, (f"H = {H}",),
                               FLOAT64, mistakes=_spectral_mistakes, check=_spectral_check))
    return cases


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


REGISTRY = {
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
}

