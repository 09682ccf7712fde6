"""Grade a learner's backward: on several cases, against finite differences and
the reference, with a diagnosis that is measured, never guessed.

Every case of :func:`normrnn.exercises.cases.make_cases` is graded in float64
and float32.  A case passes when

* the function returned arrays of the right shape and dtype, all finite, the
  same on two calls with the same inputs (:mod:`.child` poisons the freed
  memory between them, so ``np.empty_like`` garbage shows);
* it left every input as it was, and returned no input (nor a view of one);
* each output is within the dtype's tolerance
  (:data:`normrnn.gradcheck.TOLERANCES`) of the central finite differences
  and of the reference;
* in float64, each output agrees with the reference to :data:`DERIVED` or
  better: a derivation carried out in float64 agrees to about 1e-16..1e-14,
  central finite differences only to about 1e-10..1e-7, so an answer in
  between is named as a numerical derivative and its float64 cases fail.

An exercise passes when every case passes (and, with
``--forbid-package-answers``, nothing is flagged).

All of this runs in the grading process, on plain arrays: the learner's
function is called by :func:`.child.run_call`, in a child process for
``normrnn exercise check`` and the pytest file (:mod:`.isolated`), in this
process for :func:`grade` (a learner's own quick look, which trusts the
learner's code).
"""

import math
import numbers
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .. import _validate, gradcheck
from ..section_registry import NAMES, section
from . import child
from .cases import BEYOND, DTYPES, EXERCISES, INPUTS, OUTPUTS, make_cases
from .mistakes import candidates

__all__ = ["Errors", "Grade", "CaseResult", "grade", "function_name", "DERIVED"]



def _relative_error(got, want):
    """:func:`normrnn.gradcheck.relative_error`, written out here: a patch of that
    function (by a learner's module, imported before or after this one) changes
    no verdict."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise ValueError(f"shapes differ: {got.shape} and {want.shape}")
    error = np.abs(got - want).max(initial=0.0)
    scale = np.abs(want).max(initial=0.0)
    return float(error / scale) if scale > 0 else float(error)


#: In float64, the largest relative error against the reference that a
#: derivation shows on the graded cases; an answer that passes the tolerance
#: but agrees less well is named a numerical derivative and fails.  Measured
#: on every case of seeds 0..19: the test suite's independent solutions agree
#: to 2.9e-15 at worst; central differences of the learner's own forward pass
#: (the activation, the row normalisation and the whole document, steps
#: 1e-4 .. 1e-7, seeds 0..9) agree to 4e-11 at best, and to 1e-10 .. 1e-6
#: typically.  1e-12 sits more than an order of magnitude from both.
DERIVED = 1e-12


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
class CaseResult:
    """How one case, in one dtype, went.

    Attributes
    ----------
    description : str
        The case in words (:meth:`.cases.Case.describe`).
    tags : tuple of str
        Its kinds, the dtype's name included.
    passed : bool
    errors : dict
        Output name -> :class:`Errors`; empty when not graded.
    message : str
        Why it could not be graded or failed before the comparison.
    tolerance : float
    got : dict
        Output name -> the learner's float64 value (not serialised).
    numerical : float
        In float64, the error against the reference of an answer within the
        tolerance that agrees less well than :data:`DERIVED` (the case fails:
        a numerical derivative); 0 otherwise.
    """

    description: str
    tags: tuple
    passed: bool
    errors: dict = field(default_factory=dict)
    message: str = ""
    tolerance: float = 0.0
    got: dict = field(default_factory=dict, repr=False)
    numerical: float = 0.0

    def failing(self):
        """The outputs over the tolerance."""
        return [k for k, e in self.errors.items()
                if max(e.finite_differences, e.reference) > self.tolerance]


@dataclass
class Grade:
    """The grade of one exercise.

    Attributes
    ----------
    name : str
        The exercise.
    passed : bool
        Every case passed, and nothing is flagged that fails a grade.
    errors : dict
        Output name -> :class:`Errors`, in the case shown (the first failing
        one, else the one nearest its tolerance); empty when the outputs
        could not be read (see ``message``).
    diagnosis : str
        The known mistake the answer matches, measured; or that it looks
        numerical; ``""`` if none.
    message : str
        Why the answer could not be graded (an exception, a wrong shape,
        dtype, type or number of values, NaN, a changed or returned input),
        or ``"not started"``; ``""`` when it was graded.
    tolerance : float
        The relative error below which an output passes, in the case shown.
    cases_run, cases_passed : int
        How many cases (each structure in each dtype) were graded, and passed.
    flags : list of str
        What the grader noticed besides the errors: ``"numerical derivative"``,
        ``"imports normrnn.reference"``, ...
    failed_cases : list of str
        The failing cases, each in words (``"H = 8, V = 11, float32"``).
    fails_when : str
        What the failing cases share that the passing ones lack:
        ``"fails when m = 0"``, ``"fails for float32"``; ``""`` when every
        case (or none) failed.
    case : str
        The case whose errors are shown.
    """

    name: str
    passed: bool
    errors: dict = field(default_factory=dict)
    diagnosis: str = ""
    message: str = ""
    tolerance: float = 0.0
    cases_run: int = 0
    cases_passed: int = 0
    flags: list = field(default_factory=list)
    failed_cases: list = field(default_factory=list)
    fails_when: str = ""
    case: str = ""
    failing_outputs: dict = field(default_factory=dict)

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
        """One sentence: the message, the diagnosis (or which outputs failed where), the flags."""
        parts = [self.message, self.diagnosis]
        if not self.passed and self.errors and not self.diagnosis and self.failing_outputs:
            parts.append("no known mistake matches: " + "; ".join(
                f"{k} {where}" for k, where in self.failing_outputs.items()))
        if self.fails_when:
            parts.append(self.fails_when)
        parts += [f for f in self.flags if f != "numerical derivative"]
        return "; ".join(part for part in parts if part)

    def report(self):
        """A table of the errors, then the verdict, the cases and the diagnosis, fit to print.

        Returns
        -------
        str
        """
        lines = [f"{self.name}: {self.status.upper()}"]
        if self.cases_run and not self.not_started:
            lines.append(f"  {self.cases_passed} of {self.cases_run} cases passed"
                         + (f" ({self.fails_when})" if self.fails_when else ""))
        if self.errors:
            if self.case:
                lines.append(f"  case shown: {self.case}")
            lines += [f"  {'output':<14}{'vs finite diff.':>17}{'vs reference':>15}  result",
                      "  " + "-" * 54]
            for output, e in self.errors.items():
                ok = max(e.finite_differences, e.reference) <= self.tolerance
                lines.append(f"  {output:<14}{e.finite_differences:>17.2e}{e.reference:>15.2e}"
                             f"  {'ok' if ok else 'FAIL'}")
            lines.append(f"  (relative errors; an output passes at or below {self.tolerance:.0e})")
        if self.message:
            lines.append(f"  {self.message}")
        if self.diagnosis:
            lines.append(f"  diagnosis: {self.diagnosis}")
        elif not self.passed and self.errors:
            lines.append("  diagnosis: no known mistake matches this answer")
            for output, where in self.failing_outputs.items():
                lines.append(f"    {output} {where}")
        if self.failed_cases and len(self.failed_cases) < self.cases_run:
            lines.append("  failing cases: " + "; ".join(self.failed_cases))
        for flag in self.flags:
            lines.append(f"  flag: {flag}")
        return "\n".join(lines)

    def to_dict(self):
        """A JSON-ready dict (``from_dict`` reads it back)."""
        return {"name": self.name, "status": self.status, "passed": self.passed,
                "error": None if np.isnan(self.error) else self.error,
                "errors": {k: e._asdict() for k, e in self.errors.items()},
                "diagnosis": self.diagnosis, "message": self.message,
                "tolerance": self.tolerance, "cases_run": self.cases_run,
                "cases_passed": self.cases_passed, "flags": list(self.flags),
                "failed_cases": list(self.failed_cases), "fails_when": self.fails_when,
                "case": self.case, "failing_outputs": dict(self.failing_outputs)}

    @classmethod
    def from_dict(cls, data):
        """The :class:`Grade` that :meth:`to_dict` wrote."""
        return cls(data["name"], bool(data["passed"]),
                   {k: Errors(**v) for k, v in data["errors"].items()},
                   data["diagnosis"], data["message"], float(data["tolerance"]),
                   int(data.get("cases_run", 0)), int(data.get("cases_passed", 0)),
                   list(data.get("flags", [])), list(data.get("failed_cases", [])),
                   data.get("fails_when", ""), data.get("case", ""),
                   dict(data.get("failing_outputs", {})))


def function_name(name):
    """The name of exercise ``name``'s function: ``<name>_backward`` for a section, else its own."""
    if name in BEYOND:
        return BEYOND[name].function
    return section(name).backward if name in NAMES else name


class _Bad(Exception):
    """A case fails before its errors are measured; ``str()`` says why."""


def _check_output(fn, output, value, want, dtype):
    """``value`` as float64 if it is an array (a scalar for a loss) of the right
    shape, dtype and all finite; otherwise _Bad, with the transpose measured."""
    if output == "loss":
        if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
            value = float(value[()])
        if isinstance(value, child.Described) or not isinstance(value, float):
            raise _Bad(f"{fn}'s loss must be a float, got "
                       f"{value if isinstance(value, child.Described) else 'an array'}")
        if not math.isfinite(value):
            raise _Bad(f"{fn}'s loss is {value}")
        return np.asarray(value)
    if not isinstance(value, np.ndarray):
        got = value if isinstance(value, child.Described) else f"a {type(value).__name__}"
        raise _Bad(f"{output} must be a numpy.ndarray, got {got}")
    if value.shape != want.shape:
        hint = ""
        if value.shape == want.T.shape and value.dtype.kind == "f" and np.isfinite(value).all():
            if _relative_error(value.T.astype(np.float64), want) <= 1e-4:
                hint = ": it is the right answer transposed"
        raise _Bad(f"{output} has shape {value.shape}, expected {want.shape}{hint}")
    if value.dtype != dtype:
        raise _Bad(f"{output} has dtype {value.dtype}, expected {dtype} "
                   "(the dtype of the inputs)")
    if not np.isfinite(value).all():
        raise _Bad(f"{output} contains NaN or inf")
    return value.astype(np.float64)


def _same(a, b):
    """Whether two decoded outputs are the same value (bit for bit, NaN included)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def _unchanged(before, after):
    if isinstance(before, np.ndarray):
        return _same(before, after)
    return type(before) is type(after) and before == after


def read_outcome(outcome, outputs, inputs, args):
    """A child's report of one call, checked and decoded: what every exercise shares.

    Parameters
    ----------
    outcome : dict
        What the child reported.
    outputs, inputs : sequence of str
        The exercise's output and input names.
    args : sequence
        The inputs the call was given, to compare with what the child saw after it.

    Returns
    -------
    first, second : dict
        Output name -> value, of the first and the second call.
    problems : list of str
        Inputs the call changed, outputs that share memory with an input.

    Raises
    ------
    child.Malformed
        If the report is not one the child makes.
    _Bad
        If the call failed (raised, crashed, returned the wrong kind).
    """
    if not isinstance(outcome, dict):
        raise child.Malformed("an outcome must be an object")
    if "failure" in outcome:
        if not isinstance(outcome["failure"], str):
            raise child.Malformed("a failure must be a sentence")
        raise _Bad(outcome["failure"])
    if set(outcome) != {"outputs", "again", "inputs_after", "aliased"}:
        raise child.Malformed("an outcome has outputs, again, inputs_after and aliased")
    first, again = outcome["outputs"], outcome["again"]
    if not isinstance(first, dict) or not isinstance(again, dict) or \
            set(first) != set(outputs) or set(again) != set(outputs):
        raise child.Malformed("the outputs are not the exercise's")
    first = {k: child.decode_output(first[k]) for k in outputs}
    second = {k: child.decode_output(again[k]) for k in outputs}
    after = outcome["inputs_after"]
    if not isinstance(after, list) or len(after) != len(inputs):
        raise child.Malformed("the inputs after the call are not the exercise's")
    after = [child.decode_argument(a) for a in after]
    problems = []
    for input_name, before, now in zip(inputs, args, after):
        if not _unchanged(before, now):
            problems.append(f"changed its input `{input_name}` (the function must leave "
                            "its inputs as they were)")
    aliased = outcome["aliased"]
    if not isinstance(aliased, list):
        raise child.Malformed("aliased must be a list")
    for item in aliased:
        if not (isinstance(item, list) and len(item) == 3 and item[0] in outputs
                and item[1] in inputs and isinstance(item[2], bool)):
            raise child.Malformed("bad aliased entry")
        output, input_name, identical = item
        problems.append(f"returned its input `{input_name}` instead of a new array"
                        if identical else f"its output `{output}` shares memory with its "
                        f"input `{input_name}` (a view of it): return a new array")
    return first, second, problems


def _read(name, case, dtype, outcome):
    """The outputs of ``outcome`` (a child's report) as float64 arrays; _Bad if they fail
    before their errors are measured."""
    first, second, problems = read_outcome(outcome, OUTPUTS[name], INPUTS[name],
                                           case.args(dtype))
    for k in OUTPUTS[name]:
        if not _same(first[k], second[k]) and not _close(first[k], second[k], dtype):
            problems.append(f"{k} differs between two calls on the same inputs: part of it "
                            "is never written (np.empty_like leaves whatever the memory held)")
    if problems:
        raise _Bad("; ".join(dict.fromkeys(problems)))
    label = function_name(name)
    return {k: _check_output(label, k, first[k], case.reference[k], dtype)
            for k in OUTPUTS[name]}


def _close(a, b, dtype):
    """Equal within the dtype's tolerance (two calls may round differently)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    if a.shape != b.shape or a.dtype.kind not in "f" or b.dtype.kind not in "f":
        return False
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    return _relative_error(a, b) <= gradcheck.TOLERANCES[np.dtype(dtype)] * 1e-3


def judge(name, case, dtype, outcome):
    """Grade one case in one dtype from the child's ``outcome``.

    Parameters
    ----------
    name : str
    case : normrnn.exercises.cases.Case
    dtype : numpy.dtype
    outcome : dict
        What :func:`.child.run_call` reported.

    Returns
    -------
    CaseResult
    """
    dtype = np.dtype(dtype)
    if getattr(case, "check", None) is not None:        # a proof judges itself
        return case.judge(dtype, outcome)
    tolerance = gradcheck.TOLERANCES[dtype]
    tags = (*case.tags, dtype.name)
    description = case.describe(dtype)
    try:
        got = _read(name, case, dtype, outcome)
    except _Bad as bad:
        return CaseResult(description, tags, False, message=str(bad), tolerance=tolerance)
    except Exception as exc:                     # anything else in it was forged or broken
        exc = f"{type(exc).__name__}: {exc}" if not isinstance(exc, child.Malformed) else exc
        return CaseResult(description, tags, False, tolerance=tolerance,
                          message=f"the grading process received a malformed answer ({exc})")
    errors = {k: Errors(_relative_error(got[k], case.finite_differences[k]),
                        _relative_error(got[k], case.reference[k])) for k in got}
    passed = all(max(e) <= tolerance for e in errors.values())
    agreement = max((e.reference for e in errors.values()), default=0.0)
    numerical = agreement if passed and dtype == np.float64 and agreement > DERIVED else 0.0
    return CaseResult(description, tags, passed and not numerical, errors, "", tolerance, got,
                      numerical)


def _matches(got, want, tolerance):
    return _relative_error(got, want) <= tolerance


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
    if getattr(case, "check", None) is not None:        # a proof diagnoses itself
        return case.diagnose(got, tolerance, failing)
    try:
        found = candidates(case)
    except Exception:                   # a mistake not defined on this structure (T = 1)
        return ""
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


def _kind(failing, passing):
    """``"fails when m = 0"``: what every failing case is and no passing case is."""
    if not failing or not passing:
        return ""
    common = set.intersection(*(set(r.tags) for r in failing))
    common -= set().union(*(set(r.tags) for r in passing))
    order = [t for t in failing[0].tags if t in common]
    if not order:
        return f"fails in {len(failing)} of {len(failing) + len(passing)} cases"
    first = order[0]
    lead = ("when" if first.startswith(("m ", "T ")) else
            "with" if first == "repeated tokens" else "for")
    return f"fails {lead} {', '.join(order)}"


def _where(output, results):
    """Where ``output`` fails: ``"fails for H = 8"``, ``"fails in every case"``."""
    failing = [r for r in results if output in r.failing()]
    passing = [r for r in results if r.errors and output not in r.failing()]
    return _kind(failing, passing) or "fails in every case"


def numerical_flag(error):
    """The sentence that names an answer agreeing with the reference only to ``error``."""
    return (f"agrees only to {error:.0e}: this looks like a numerical derivative, "
            "not a derivation")


def combine(name, cases, results, *, flags=(), forbid=()):
    """The :class:`Grade` of exercise ``name`` from its case results.

    Parameters
    ----------
    name : str
    cases : list of Case
        The case of each result, in order.
    results : list of CaseResult
    flags : sequence of str, optional
        What else was noticed (imports of the package's answers).
    forbid : sequence of str, optional
        Those of ``flags`` that fail the grade.

    Returns
    -------
    Grade
    """
    flags = list(dict.fromkeys(flags))
    failing = [r for r in results if not r.passed]
    passing = [r for r in results if r.passed]
    numerical = max((r.numerical for r in results), default=0.0)
    wrong = [r for r in failing if not r.numerical]
    shown = (wrong or failing or sorted(results, key=lambda r: -max(
        (max(e) for e in r.errors.values()), default=0.0) / r.tolerance))[0]
    message = shown.message
    everywhere = len(failing) == len(results) and len({r.message for r in failing}) == 1
    if message and not everywhere:
        message = f"in case {shown.description}: {message}"
    diagnosis = ""
    failing_outputs = {}
    if shown.errors and not shown.passed:
        case = cases[results.index(shown)]
        diagnosis = diagnose(shown.got, case, shown.tolerance, shown.failing())
        failing_outputs = {k: _where(k, results) for k in shown.failing()}
    if numerical:                     # named even where other cases fail outright
        flags.insert(0, "numerical derivative")
        diagnosis = "; ".join(p for p in (numerical_flag(numerical), diagnosis if wrong else "")
                              if p)
    refused = [f for f in flags if f in forbid]
    if refused:
        diagnosis = "; ".join(p for p in (diagnosis, "the package's own answers are not "
                                          "allowed here: " + ", ".join(refused)) if p)
    passed = not failing and not refused
    return Grade(name, passed, dict(shown.errors), diagnosis, message, shown.tolerance,
                 len(results), len(passing), flags, [r.description for r in failing],
                 _kind(failing, passing), shown.description, failing_outputs)


def _xor(grade_):
    if "xor" in grade_.message.lower() and not grade_.diagnosis:
        grade_.diagnosis = ("`^` is XOR in Python, not a power: write `**` (erratum 7 of "
                            "the notes)")
    return grade_


def check_timeout(timeout):
    """``timeout`` if it is a positive finite number of seconds or None; else raise.

    Raises
    ------
    TypeError
        Not a number.
    ValueError
        Zero, negative, NaN or infinite.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds or None, got "
                        f"{type(timeout).__name__}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive finite number of seconds, got {timeout!r}")
    return float(timeout)


def check_seed(seed):
    """``seed`` if it is a non-negative integer; else TypeError or ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def dtypes_for(dtype, case=None):
    """The dtypes graded: both (:data:`.cases.DTYPES`) for None, else ``dtype``; of
    those, the ones ``case`` is graded in (a proof may have float64 only)."""
    dtypes = DTYPES if dtype is None else (_validate.float_dtype(dtype),)
    own = getattr(case, "dtypes", DTYPES)
    return tuple(d for d in dtypes if d in own) or own[:1]


def output_sizes(name, case, dtype):
    """Bytes of each array the exercise returns, in ``dtype`` (what the child poisons)."""
    return [int(np.dtype(dtype).itemsize * v.size) for k, v in case.reference.items()
            if k != "loss"]


def grade(name, fn, *, seed=0, dtype=None, timeout=10.0):
    """Grade ``fn``, a learner's answer to exercise ``name``, in this process.

    ``fn`` is called on every case of
    :func:`normrnn.exercises.cases.make_cases` (several structures, each in
    float64 and float32; twice per case, see :mod:`.child`).  Each output is
    compared with central finite differences of the forward pass and with the
    reference; when it fails, each known mistake (:mod:`.mistakes`) is
    computed on the same inputs and named only if it matches.  Bad code
    (an exception, a wrong shape, dtype, type or number of values, NaN, a
    changed or returned input, an endless loop) gives a failing grade with a
    clear message, never a traceback.

    This trusts ``fn``'s process: code that patches the grader can change
    this verdict.  ``normrnn exercise check`` and the pytest file of
    ``normrnn exercise start`` grade in a child process that cannot
    (:func:`normrnn.exercises.isolated.grade_file`).

    Parameters
    ----------
    name : str
        One of ``"logits"``, ``"activation"``, ``"bias"``, ``"ih"``,
        ``"embedding_activation"``, ``"hh"``, ``"row_normalise"``, ``"gain"``
        (``fn`` has the signature and return value of
        ``normrnn.reference.<name>_backward``) or ``"loss_and_grads"`` (that of
        :func:`normrnn.reference.loss_and_grads`).
    fn : callable
        The learner's function.
    seed : int, optional
        Seed of the cases (a non-negative integer).
    dtype : {None, numpy.float64, numpy.float32}, optional
        Grade in this dtype only; by default in both.
    timeout : float or None, optional
        Seconds each call of ``fn`` may run (enforced on the main thread on
        Unix); a positive number, or None for no limit.

    Returns
    -------
    Grade
    """
    if name not in EXERCISES:
        raise ValueError(f"name must be one of {EXERCISES}, got {name!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    seed, timeout, _ = check_seed(seed), check_timeout(timeout), dtypes_for(dtype)
    cases, results = [], []
    for case in make_cases(name, seed=seed):
        for dt in dtypes_for(dtype, case):
            outcome = child.run_call(fn, case.args(dt), name=name, function=function_name(name),
                                     outputs=OUTPUTS[name], inputs=INPUTS[name],
                                     sizes=output_sizes(name, case, dt), timeout=timeout)
            cases.append(case)
            results.append(judge(name, case, dt, outcome))
    return _xor(combine(name, cases, results))
