"""Judging a proof: its outputs read from the child, measured by its own check, and a
known mistake named or what is wrong explained, with the measured numbers."""

import numpy as np

from ... import gradcheck
from ._shared import COMPLEX_STEP, EXACT


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
    from ..grading import _Bad, _same, read_outcome
    from . import REGISTRY
    outputs = REGISTRY[case.name].outputs
    first, second, problems = read_outcome(outcome, outputs, REGISTRY[case.name].inputs,
                                           case.args(dtype))
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
    from .. import child
    from ..grading import CaseResult, Errors, _Bad
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
