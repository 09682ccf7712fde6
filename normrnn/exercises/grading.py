"""Grade a learner's backward: errors against finite differences and the
reference, and a diagnosis that is measured, never guessed."""

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .. import _validate, gradcheck
from . import guard
from .cases import EXERCISES, OUTPUTS, make_case
from .mistakes import candidates

__all__ = ["Errors", "Grade", "grade", "function_name"]


class Errors(NamedTuple):
    """The relative errors of one output (see :func:`normrnn.gradcheck.relative_error`).

    Attributes
    ----------
    finite_differences : float
        Against central finite differences of the forward pass (for a loss,
        against the forward's value).
    reference : float
        Against :mod:`normrnn.reference`'s answer.
    """

    finite_differences: float
    reference: float


@dataclass
class Grade:
    """The grade of one exercise.

    Attributes
    ----------
    name : str
        The exercise.
    passed : bool
        Every output within ``tolerance`` of the finite differences.
    errors : dict
        Output name -> :class:`Errors`; empty when the outputs could not be
        read (see ``message``).
    diagnosis : str
        The known mistake the answer matches, measured; ``""`` if none does.
    message : str
        Why the answer could not be graded (an exception, a wrong shape,
        dtype, type or number of values, NaN), or ``"not started"``;
        ``""`` when it was graded.
    tolerance : float
        The relative error below which an output passes.
    """

    name: str
    passed: bool
    errors: dict = field(default_factory=dict)
    diagnosis: str = ""
    message: str = ""
    tolerance: float = 0.0

    @property
    def not_started(self):
        """Whether the function still raises ``NotImplementedError``."""
        return self.message.startswith("not started")

    @property
    def status(self):
        """``"passed"``, ``"not started"`` or ``"failed"``."""
        return "passed" if self.passed else "not started" if self.not_started else "failed"

    @property
    def error(self):
        """The largest error against finite differences, or ``nan`` if not graded."""
        values = [e.finite_differences for e in self.errors.values()]
        return max(values) if values else float("nan")

    def summary(self):
        """One sentence: the diagnosis, else the message, else ``""``."""
        return "; ".join(part for part in (self.message, self.diagnosis) if part)

    def report(self):
        """A table of the errors, then the verdict and the diagnosis, fit to print.

        Returns
        -------
        str
        """
        lines = [f"{self.name}: {self.status.upper()}"]
        if self.errors:
            lines += [f"  {'output':<14}{'vs finite diff.':>17}{'vs reference':>15}  result",
                      "  " + "-" * 54]
            for output, e in self.errors.items():
                ok = e.finite_differences <= self.tolerance
                lines.append(f"  {output:<14}{e.finite_differences:>17.2e}{e.reference:>15.2e}"
                             f"  {'ok' if ok else 'FAIL'}")
            lines.append(f"  (relative errors; an output passes at or below {self.tolerance:.0e})")
        if self.message:
            lines.append(f"  {self.message}")
        if self.diagnosis:
            lines.append(f"  diagnosis: {self.diagnosis}")
        elif not self.passed and self.errors:
            lines.append("  diagnosis: no known mistake matches this answer")
        return "\n".join(lines)

    def to_dict(self):
        """A JSON-ready dict (``from_dict`` reads it back)."""
        return {"name": self.name, "status": self.status, "passed": self.passed,
                "error": None if np.isnan(self.error) else self.error,
                "errors": {k: e._asdict() for k, e in self.errors.items()},
                "diagnosis": self.diagnosis, "message": self.message,
                "tolerance": self.tolerance}

    @classmethod
    def from_dict(cls, data):
        """The :class:`Grade` that :meth:`to_dict` wrote."""
        return cls(data["name"], bool(data["passed"]),
                   {k: Errors(**v) for k, v in data["errors"].items()},
                   data["diagnosis"], data["message"], float(data["tolerance"]))


def function_name(name):
    """The name of exercise ``name``'s function: ``<name>_backward``, or ``loss_and_grads``."""
    return name if name == "loss_and_grads" else f"{name}_backward"


def _copy(args):
    return tuple(a.copy() if isinstance(a, (np.ndarray, list)) else a for a in args)


def _unpack(name, result):
    """The learner's return value as a dict of output name -> value, or Failure."""
    outputs = OUTPUTS[name]
    fn = function_name(name)
    if name == "loss_and_grads":
        if not isinstance(result, tuple) or len(result) != 2:
            raise guard.Failure(f"{fn} must return (loss, grads), got {_describe(result)}")
        loss, grads = result
        if not isinstance(grads, dict):
            raise guard.Failure(f"{fn}'s grads must be a dict keyed embedding, ih, hh, bias; "
                                f"got {type(grads).__name__}")
        missing = [k for k in outputs[1:] if k not in grads]
        if missing:
            raise guard.Failure(f"{fn}'s grads has no {', '.join(missing)} "
                                f"(keys: {', '.join(map(str, grads)) or 'none'})")
        return {"loss": loss, **{k: grads[k] for k in outputs[1:]}}
    if len(outputs) == 1:
        if isinstance(result, tuple):
            raise guard.Failure(f"{fn} must return one array ({outputs[0]}), got "
                                f"{_describe(result)}")
        return {outputs[0]: result}
    if not isinstance(result, tuple) or len(result) != len(outputs):
        raise guard.Failure(f"{fn} must return {len(outputs)} values ({', '.join(outputs)}), "
                            f"got {_describe(result)}")
    return dict(zip(outputs, result))


def _describe(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} value{'s' * (len(value) != 1)}"
    return "None" if value is None else f"a {type(value).__name__}"


def _check_output(fn, output, value, want, dtype):
    """``value`` as float64 if it is an array (a scalar for a loss) of the right
    shape, dtype and all finite; otherwise Failure, with the transpose measured."""
    if output == "loss":
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if isinstance(value, bool) or not isinstance(value, (float, int, np.floating)):
            raise guard.Failure(f"{fn}'s loss must be a float, got {_describe(value)}")
        if not np.isfinite(value):
            raise guard.Failure(f"{fn}'s loss is {value}")
        return np.asarray(float(value))
    if not isinstance(value, np.ndarray):
        raise guard.Failure(f"{output} must be a numpy.ndarray, got {_describe(value)}")
    if value.shape != want.shape:
        hint = ""
        if value.shape == want.T.shape and value.dtype.kind == "f" and np.isfinite(value).all():
            if gradcheck.relative_error(value.T.astype(np.float64), want) <= 1e-4:
                hint = ": it is the right answer transposed"
        raise guard.Failure(f"{output} has shape {value.shape}, expected {want.shape}{hint}")
    if value.dtype != dtype:
        raise guard.Failure(f"{output} has dtype {value.dtype}, expected {dtype} "
                            "(the dtype of the inputs)")
    if not np.isfinite(value).all():
        raise guard.Failure(f"{output} contains NaN or inf")
    return value.astype(np.float64)


def _matches(got, want, tolerance):
    return gradcheck.relative_error(got, want) <= tolerance


def diagnose(got, case, tolerance, failing):
    """The known mistake ``got`` matches, measured on ``case``'s inputs, or ``""``.

    First a mistake that explains every output at once; else, output by
    output, the first mistake whose value for that output matches.

    Parameters
    ----------
    got : dict
        Output name -> the learner's float64 value.
    case : normrnn.exercises.cases.Case
    tolerance : float
    failing : list of str
        The outputs that failed.

    Returns
    -------
    str
    """
    if not failing:
        return ""
    found = candidates(case)
    for c in found:
        if all(_matches(got[k], c.outputs.get(k, case.reference[k]), tolerance) for k in got):
            touched = [k for k in c.outputs if not _matches(c.outputs[k], case.reference[k],
                                                            tolerance)]
            return c.label if len(c.outputs) > 1 else f"{', '.join(touched)}: {c.label}"
    by_label, unexplained = {}, []
    for k in failing:
        label = next((c.label for c in found if k in c.outputs
                      and not _matches(c.outputs[k], case.reference[k], tolerance)
                      and _matches(got[k], c.outputs[k], tolerance)), None)
        if label is None:
            unexplained.append(k)
        else:
            by_label.setdefault(label, []).append(k)
    if not by_label:
        return ""
    parts = [f"{', '.join(outputs)}: {label}" for label, outputs in by_label.items()]
    if unexplained:
        parts.append(f"{', '.join(unexplained)}: no known mistake matches")
    return "; ".join(parts)


def grade(name, fn, *, seed=0, dtype=np.float64, timeout=10.0):
    """Grade ``fn``, a learner's answer to exercise ``name``.

    ``fn`` is called once on seeded random inputs in ``dtype``.  Each output is
    compared with central finite differences of the forward pass and with the
    reference; when it fails, each known mistake (:mod:`.mistakes`) is
    computed on the same inputs and named only if it matches.  Bad code
    (an exception, a wrong shape, dtype, type or number of values, NaN, an
    endless loop) gives a failing grade with a clear message, never a
    traceback.

    Parameters
    ----------
    name : str
        One of ``"logits"``, ``"activation"``, ``"bias"``, ``"ih"``,
        ``"embedding_activation"``, ``"hh"``, ``"row_normalise"`` (``fn`` has
        the signature and return value of ``normrnn.reference.<name>_backward``)
        or ``"loss_and_grads"`` (that of
        :func:`normrnn.reference.loss_and_grads`).
    fn : callable
        The learner's function.
    seed : int, optional
        Seed of the inputs.
    dtype : {numpy.float64, numpy.float32}, optional
        The dtype of the inputs and of the expected outputs.
    timeout : float or None, optional
        Seconds ``fn`` may run (enforced on the main thread on Unix).

    Returns
    -------
    Grade
    """
    if name not in EXERCISES:
        raise ValueError(f"name must be one of {EXERCISES}, got {name!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    dtype = _validate.float_dtype(dtype)
    tolerance = gradcheck.TOLERANCES[dtype]
    case = make_case(name, seed=seed, dtype=dtype)
    label = function_name(name)
    try:
        result = guard.call(fn, _copy(case.args), name=label, timeout=timeout)
        raw = _unpack(name, result)
        got = {k: _check_output(label, k, raw[k], case.reference[k], dtype) for k in raw}
    except guard.Failure as failure:
        message = str(failure)
        diagnosis = ("`^` is XOR in Python, not a power: write `**` (erratum 7 of the notes)"
                     if "xor" in message.lower() else "")
        return Grade(name, False, {}, diagnosis, message, tolerance)
    errors = {k: Errors(gradcheck.relative_error(got[k], case.finite_differences[k]),
                        gradcheck.relative_error(got[k], case.reference[k])) for k in got}
    failing = [k for k, e in errors.items() if e.finite_differences > tolerance]
    return Grade(name, not failing, errors, diagnose(got, case, tolerance, failing), "",
                 tolerance)
