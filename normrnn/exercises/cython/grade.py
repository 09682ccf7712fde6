"""Grade a learner's Cython kernel: correctness, speed and purity, and the levels.

:func:`grade_kernel` compiles ``<folder>/<name>.pyx`` (:mod:`.build`; a
compile error is the grade), reads its purity from the annotation
(:mod:`.purity`), then runs it in a child process of its own under the Python
track's limits (:mod:`normrnn.exercises.sandbox`, :mod:`.child`), so that a
kernel that writes out of bounds and crashes costs a failing grade, never the
grader.  The child only calls the kernel and sends back what it wrote; the
verdict is reached here, by the Python track's rules
(:func:`normrnn.exercises.grading.judge`) on the Python track's cases, in
float32 and float64:

* every output starts from values the grader chose (not zero), and the
  kernel's increment is what it added to them: a kernel that overwrites an
  INOUT output fails with that said;
* the inputs must come back as they were;
* two calls on the same inputs must agree.

Then the levels: correct is a pass; faster than the NumPy twin
(:mod:`.speed`) is the second level; a kernel without a Python line, callable
without the GIL, the third.  The report says what to change to reach the next.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import child as codec
from ... import gradcheck
from ..cases import INPUTS, make_cases
from ..grading import CaseResult, Grade, check_seed, combine, judge
from ..isolated import MEMORY, SECONDS
from ..sandbox import run_child
from .build import CompileFailed, build
from .purity import purity
from .source import functions, kernel_lines
from .speed import judge_speed, speed_request
from .table import CYTHON
from .templates import NOT_STARTED, file_name

__all__ = ["KernelGrade", "grade_kernel", "LEVELS", "CHILD", "package_cimports"]

#: The levels, in order: what each one asks.
LEVELS = ("correct", "faster than NumPy", "no Python line")

CHILD = Path(__file__).resolve().parent / "child.py"

#: Seconds each call of the kernel may take (a loop in C is stopped by the child's limit).
TIMEOUT = 10.0


@dataclass
class KernelGrade:
    """The grade of one Cython exercise.

    Attributes
    ----------
    name : str
    correctness : Grade or None
        The Python track's grade of the answers (None if it did not compile).
    compile_error : str
        ``file:line: message`` when the file did not compile.
    speed : Speed or None
    purity : Purity or None
    flags : list of str
    speed_level : bool
        Whether speed is one of the levels (the race's NumPy twin is one BLAS
        matrix product: its speed is shown, not graded).
    """

    name: str
    correctness: Grade = None
    compile_error: str = ""
    speed: object = None
    purity: object = None
    flags: list = field(default_factory=list)
    speed_level: bool = True

    @property
    def level_names(self):
        """The levels this exercise has, in order."""
        return LEVELS if self.speed_level else (LEVELS[0], LEVELS[2])

    @property
    def passed(self):
        """Compiled, and every case right."""
        return not self.compile_error and self.correctness is not None and self.correctness.passed

    @property
    def not_started(self):
        """The kernel still holds the skeleton's line (or the file is missing)."""
        return self.correctness is not None and self.correctness.not_started

    @property
    def levels(self):
        """The levels reached (a prefix of :data:`LEVELS`'s names, in order)."""
        reached = []
        if self.passed:
            reached.append(LEVELS[0])
            if self.speed_level and self.speed is not None and self.speed.faster_than_numpy:
                reached.append(LEVELS[1])
            if self.purity is not None and self.purity.white:
                reached.append(LEVELS[2])
        return reached

    @property
    def status(self):
        """``"correct"``, ``"WRONG"``, ``"no compile"`` or ``"not started"``."""
        if self.compile_error:
            return "no compile"
        if self.not_started:
            return "not started"
        return "correct" if self.passed else "WRONG"

    def row(self):
        """One line of the table: ``hh  correct  1.9x NumPy, 0.8x normrnn  2 Python lines (l. 14, 17)``."""
        if self.compile_error or self.not_started:
            detail = self.compile_error or self.correctness.message.removeprefix("not started ")
            return f"{self.name:<22}{self.status:<13}{detail}"
        speed = self.speed.summary() if self.speed is not None else ""
        pure = self.purity.summary() if self.purity is not None else ""
        level = f"level {len(self.levels)}/{len(self.level_names)}"
        return f"{self.name:<22}{self.status:<13}{speed:<28}  {pure:<34}  {level}"

    def advice(self):
        """What to change to reach the next levels, one sentence each."""
        said = []
        if self.passed and self.speed_level and self.speed is not None \
                and not self.speed.faster_than_numpy:
            said.append(f"speed: {self.speed.summary()}; the next level asks for "
                        f"{self.speed.target()} (type every local, index typed memoryviews, "
                        "no Python object in the loop)")
        if self.purity is not None:
            said += self.purity.advice
        return said

    def report(self):
        """The whole grade, fit to print."""
        lines = [f"{self.name}: {self.status.upper()}"
                 + (f", level {len(self.levels)} of {len(self.level_names)} "
                    f"({', '.join(self.levels)})"
                    if self.passed else "")]
        if self.compile_error:
            lines.append(f"  {self.compile_error}")
            return "\n".join(lines)
        if self.correctness is not None and not self.passed:
            lines += ["  " + line for line in self.correctness.report().splitlines()[1:]]
        if self.speed is not None:
            lines.append(f"  speed: {self.speed.summary()} (H = 128, float64; how many times "
                         "faster than each)" + ("" if self.speed_level else "; shown, not a "
                                                 "level: NumPy's sum is one BLAS product"))
        if self.purity is not None:
            lines.append(f"  purity: {self.purity.summary()}; "
                         + ("callable without the GIL" if self.purity.nogil
                            else "not callable without the GIL"))
            for line in self.purity.lines:
                lines.append(f"    l. {line.line}: {line.text}   [{', '.join(line.api[:3])}]")
        for sentence in self.advice():
            lines.append(f"  to do: {sentence}")
        for flag in self.flags:
            lines.append(f"  flag: {flag}")
        return "\n".join(lines)

    def to_dict(self):
        """A JSON-ready dict."""
        return {"name": self.name, "status": self.status, "passed": self.passed,
                "levels": self.levels, "compile_error": self.compile_error,
                "correctness": self.correctness.to_dict() if self.correctness else None,
                "speed": None if self.speed is None else
                {"numpy": self.speed.numpy, "normrnn": self.speed.normrnn,
                 "message": self.speed.message},
                "purity": None if self.purity is None else
                {"python_lines": [p.line for p in self.purity.lines],
                 "nogil": self.purity.nogil},
                "advice": self.advice(), "flags": list(self.flags)}


def package_cimports(source):
    """Flags for a ``cimport`` or ``import`` of the package's kernels in ``source``."""
    found = re.findall(r"^\s*(?:from\s+(normrnn[\w.]*)\s+c?import|c?import\s+(normrnn[\w.]*))",
                       source, flags=re.M)
    return list(dict.fromkeys(f"cimports {a or b}" for a, b in found))


def _start(shape, dtype, rng, scale):
    """Starting values of an INOUT output: small multiples of a power of two near the
    answer's scale, so that start + increment rounds no worse than the increment."""
    power = 2.0 ** np.round(np.log2(scale)) if scale > 0 else 1.0
    return (rng.integers(-2, 3, size=shape) * power).astype(dtype)


def _arguments(name, case, dtype):
    """The wrapper's inputs for ``case`` in ``dtype`` (token lists as int32 arrays)."""
    args = list(case.args(dtype))
    if name == "loss_and_grads":
        args[4] = np.asarray(args[4], dtype=np.int32)
        args.append(np.zeros(case.sizes["H"], dtype=dtype))
    return args


def _calls(name, cases, dtypes, seed):
    """(case, dtype, inputs, starts) of every call."""
    exercise = CYTHON[name]
    rng = np.random.default_rng([seed, 7, list(CYTHON).index(name)])
    calls = []
    for case in cases:
        for dt in dtypes:
            args = _arguments(name, case, dt)
            start = []
            for argument, kind, graded in exercise.outputs:
                if graded:
                    want = case.reference[graded]
                    shape, scale = want.shape, float(np.abs(want).max(initial=0.0))
                else:
                    shape = (case.sizes["V"],) if argument == "d_logits" else \
                        (len(case.args64[4]), case.sizes["H"])
                    scale = 0.0
                first = _start(shape, dt, rng, scale) if kind == "INOUT" else \
                    np.full(shape, np.nan, dtype=dt)
                again = first if kind == "INOUT" else np.full(shape, 3.0, dtype=dt)
                start.append((first, again))
            calls.append((case, np.dtype(dt), args, start))
    return calls


def _increments(name, call, outcome):
    """The Python track's outcome (see :func:`normrnn.exercises.child.run_call`) from
    the kernel's: increments of the INOUT outputs, the returned loss; or a CaseResult."""
    case, dtype, args, starts = call
    exercise = CYTHON[name]
    if not isinstance(outcome, dict):
        raise codec.Malformed("an outcome must be an object")
    if "failure" in outcome:
        return {"failure": str(outcome["failure"])}
    if set(outcome) != {"returned", "outputs", "inputs_after"}:
        raise codec.Malformed("an outcome has returned, outputs and inputs_after")
    changed = []
    after = outcome["inputs_after"]
    if not isinstance(after, list) or len(after) != len(args):
        raise codec.Malformed("the inputs after the call are not the exercise's")
    names = list(INPUTS[name]) + list(exercise.extra_inputs)
    for input_name, before, now in zip(names, args, after):
        now = codec.decode_argument(now)
        same = (isinstance(now, np.ndarray) and now.dtype == before.dtype
                and now.tobytes() == before.tobytes()) if isinstance(before, np.ndarray) \
            else now == before
        if not same:
            changed.append(input_name)
    if changed:
        return {"failure": f"changed its input {', '.join(f'`{c}`' for c in changed)} (an IN "
                "array must be left as it was)"}
    runs = []
    overwritten = []
    for k in (0, 1):
        returned = codec.decode_output(outcome["returned"][k])
        arrays = outcome["outputs"][k]
        if not isinstance(arrays, list) or len(arrays) != len(exercise.outputs):
            raise codec.Malformed("the outputs are not the exercise's")
        got = {}
        for (argument, kind, graded), encoded, start in zip(exercise.outputs, arrays, starts):
            value = codec.decode_array(encoded)
            if not graded:
                continue
            if value.shape != start[k].shape or value.dtype != dtype:
                raise codec.Malformed("an output changed shape or dtype")
            if kind == "INOUT":
                increment = (value.astype(np.float64) - start[k].astype(np.float64)).astype(dtype)
                if _overwrote(value, increment, case.reference[graded], dtype, start[k]):
                    overwritten.append(argument)
                value = increment
            got[graded] = value
        if exercise.returns:
            got[exercise.returns] = returned
        runs.append(got)
    if overwritten:
        return {"failure": f"{', '.join(dict.fromkeys(overwritten))} is overwritten (=), not "
                "added into (+=): INOUT outputs accumulate, the caller sums them over steps"}
    return {"outputs": {k: codec._encode_output(v) for k, v in runs[0].items()},
            "again": {k: codec._encode_output(v) for k, v in runs[1].items()},
            "inputs_after": [codec.encode_argument(a) for a in case.args(dtype)],
            "aliased": []}


def _overwrote(value, increment, want, dtype, start):
    """The output holds the answer itself, where start + answer was due."""
    if not np.any(start):
        return False
    tolerance = gradcheck.TOLERANCES[np.dtype(dtype)]

    def close(a):
        a = np.asarray(a, dtype=np.float64)
        scale = np.abs(want).max(initial=0.0)
        return np.all(np.isfinite(a)) and np.abs(a - want).max(initial=0.0) <= tolerance * max(
            scale, 1e-300)
    return close(value) and not close(increment)


def _judge_call(name, call, outcome):
    case, dtype, _, _ = call
    try:
        converted = _increments(name, call, outcome)
    except (codec.Malformed, KeyError, TypeError, ValueError, IndexError) as exc:
        return CaseResult(case.describe(dtype), (*case.tags, dtype.name), False,
                          message=f"the grading process received a malformed answer ({exc})",
                          tolerance=gradcheck.TOLERANCES[dtype])
    return judge(name, case, dtype, converted)


def _crash(run):
    """Why the child ended before answering, as a sentence about the kernel."""
    if run.ended.startswith("stopped"):
        return (f"the kernel {run.ended.replace('stopped after', 'ran for more than')} and was "
                "stopped: an endless loop?")
    if "signal 11" in run.ended or "signal 7" in run.ended:
        return (f"the kernel crashed the grading process ({run.ended}, a segmentation fault): "
                "an index out of bounds? With boundscheck off nothing stops a read or write "
                "past the end of an array")
    if run.ended.startswith("killed by signal"):
        return f"the kernel took the grading process down ({run.ended})"
    return f"the grading process ended early ({run.ended or 'no answer'})"


def _not_started(source, name):
    body = kernel_lines(source, CYTHON[name].kernel)
    lines = source.splitlines()
    return any(NOT_STARTED in lines[i - 1] for i in body if i - 1 < len(lines))


def grade_kernel(folder, name, *, seed=0, cache=None, forbid_package_answers=False,
                 seconds=SECONDS, memory=MEMORY, timed=True):
    """Compile and grade ``folder/<name>.pyx``.

    Parameters
    ----------
    folder : str or Path
    name : str
        A key of :data:`.table.CYTHON`.
    seed : int, optional
        Seed of the cases.
    cache : str or Path, optional
        The build folder (:func:`.build.cache_folder` by default).
    forbid_package_answers : bool, optional
        Fail a section that cimports the package's kernels.
    seconds, memory : optional
        The child's limits (as the Python track's).
    timed : bool, optional
        Measure the speed (the correctness verdict never depends on it).

    Returns
    -------
    KernelGrade

    Raises
    ------
    normrnn.exercises.sandbox.GraderBroken
        The grading child could not start.
    """
    if name not in CYTHON:
        raise ValueError(f"name must be one of {tuple(CYTHON)}, got {name!r}")
    seed = check_seed(seed)
    folder = Path(folder).resolve()
    path = folder / file_name(name)
    exercise = CYTHON[name]
    if not path.is_file():
        return KernelGrade(name, Grade(name, False, message=f"not started (no {path.name})"))
    source = path.read_text(encoding="utf-8", errors="replace")
    if exercise.kernel not in functions(source):
        return KernelGrade(name, Grade(name, False, message=f"{path.name} defines no kernel "
                                       f"{exercise.kernel} (the function graded)"))
    if _not_started(source, name):
        return KernelGrade(name, Grade(name, False, message="not started (the kernel still "
                                       "holds the skeleton's `pass` line)"))
    flags = [] if exercise.cimports_allowed else package_cimports(source)
    try:
        built = build(path, cache=cache)
    except CompileFailed as error:
        return KernelGrade(name, compile_error=str(error), flags=flags)
    pure = purity(built.annotation.read_text(encoding="utf-8", errors="replace"), source,
                  exercise.kernel)
    cases = make_cases(name, seed=seed)
    calls = _calls(name, cases, (np.dtype(np.float64), np.dtype(np.float32)), seed)
    request = {"module": str(built.module), "modname": built.name, "wrapper": exercise.wrapper,
               "timeout": TIMEOUT,
               "preload": ["normrnn._kernels." + exercise.source.removesuffix(".pyx")],
               "calls": [{"args": [codec.encode_argument(a) for a in args],
                          "starts": [[codec.encode_array(s[k]) for s in starts]
                                     for k in (0, 1)]}
                         for _, _, args, starts in calls]}
    answer = None
    if timed:
        request["speed"], answer = speed_request(name, seed)
    run = run_child(request, folder=folder, seconds=seconds, memory=memory, script=CHILD)
    load_failure, outcomes, speed_report = _channel(run)
    if load_failure is not None:
        return KernelGrade(name, Grade(name, False, message=load_failure), flags=flags,
                           purity=pure)
    results = []
    for i, call in enumerate(calls):
        if i in outcomes:
            results.append(_judge_call(name, call, outcomes[i]))
        else:
            case, dt = call[0], call[1]
            results.append(CaseResult(case.describe(dt), (*case.tags, dt.name), False,
                                      message=_crash(run)))
    forbid = flags if forbid_package_answers else ()
    correctness = combine(name, [c[0] for c in calls], results, flags=flags, forbid=forbid)
    speed = judge_speed(name, speed_report, answer) if timed and correctness.passed else None
    return KernelGrade(name, correctness, speed=speed, purity=pure, flags=flags)


#: The lines of the channel that carry nothing to grade.
_PLAIN = ({"ready": True}, {"done": True})


def _channel(run):
    """(load failure, {call: outcome}, speed report) from the child's lines.

    A line that is not the protocol's (written by the kernel to the channel)
    becomes a load failure: that exercise's failing grade.
    """
    load_failure, outcomes, speed = None, {}, None
    for line in run.lines:
        if line in _PLAIN:
            continue
        if not isinstance(line, dict):
            load_failure = "wrote a line the grader cannot read to its channel"
        elif set(line) == {"load_failure"} and isinstance(line["load_failure"], str):
            load_failure = line["load_failure"]
        elif set(line) == {"call", "outcome"} and type(line["call"]) is int \
                and line["call"] not in outcomes:
            outcomes[line["call"]] = line["outcome"]
        elif set(line) == {"speed"}:
            speed = line["speed"]
        else:
            load_failure = "wrote a line the grader cannot read to its channel"
    return load_failure, outcomes, speed
