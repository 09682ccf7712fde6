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
    from .. import child
    from ..grading import _Bad, _same, _unchanged
    if not isinstance(outcome, dict):
        raise child.Malformed("an outcome must be an object")
    if "failure" in outcome:
        if not isinstance(outcome["failure"], str):
            raise child.Malformed("a failure must be a sentence")
        raise _Bad(outcome["failure"])
    from . import REGISTRY
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
