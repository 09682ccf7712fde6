"""Grade a learner's file in a child process: the verdict the learner's code cannot reach.

:func:`grade_file` makes the cases here, sends only their inputs to a child
process (:mod:`.sandbox`, :mod:`.child`), and grades the plain arrays that
come back here (:func:`.grading.judge`).  What the child runs is the
learner's; what decides is not:

* a patched ``normrnn.gradcheck.relative_error``, ``np.allclose`` or grader
  module in the child changes nothing here;
* a line forged on the channel can at most forge outputs, which are graded
  like any others; a line that is not the protocol's is that exercise's
  failing grade;
* ``os._exit``, a crash, a loop, leftovers, a fork bomb, a memory blow-up end
  that exercise's child and fail that exercise only.

The package's own answers are watched twice: the child's import audit hook
reports what the learner's code imported at run time, and
:func:`package_answers` reads the learner's source here, where the child
cannot change what it finds.
"""

import ast
from pathlib import Path

from .cases import INPUTS, OUTPUTS, make_cases
from .child import WATCHED, encode_argument
from .grading import (CaseResult, Grade, _xor, check_seed, check_timeout, combine,
                      dtypes_for, function_name, judge, output_sizes)
from .sandbox import run_child

__all__ = ["grade_file", "package_answers", "SECONDS", "MEMORY"]

#: Wall-clock seconds the child grading one exercise may take, imports included.
SECONDS = 60.0
#: Bytes of memory the child may add to what it holds after its imports.
MEMORY = 2 << 30

#: Names that, imported from ``normrnn``, are the package's own answers.
_FROM_PACKAGE = {"reference": "normrnn.reference", "sections": "normrnn.sections",
                 "_kernels": "normrnn._kernels", "model": "normrnn.model",
                 "notes": "normrnn.notes", "exercises": "normrnn.exercises",
                 "testing": "normrnn.testing", "NormRNN": "normrnn.model",
                 "Grads": "normrnn.model"}


#: How a flag from the child may begin (a forged one can only hurt its sender).
_FLAGGED = ("imports normrnn.", "reads normrnn/", "runs normrnn ")


def _watched(module):
    return next((w for w in WATCHED if module == w or module.startswith(w + ".")), None)


def _names_in(tree):
    """(watched module, local module) names that ``tree`` reaches, in order."""
    found, local = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(_watched(alias.name))
                local.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(_watched(node.module))
            local.append(node.module)
            if node.module == "normrnn":
                found += [_FROM_PACKAGE.get(alias.name) for alias in node.names]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "normrnn":
            found.append(_FROM_PACKAGE.get(node.attr))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [w for w in WATCHED if w in node.value]
            if "normrnn exercise solution" in node.value or node.value == "solution":
                found.append("normrnn exercise solution")
    return [f for f in found if f], local


def package_answers(folder, name):
    """The watched modules the source of ``folder/<name>.py`` (and its local imports) names.

    Parameters
    ----------
    folder : Path
    name : str

    Returns
    -------
    list of str
        Flags such as ``"imports normrnn.reference"``.
    """
    found, todo, seen = [], [name], set()
    while todo:
        module = todo.pop()
        path = Path(folder) / f"{module}.py"
        if module in seen or not path.is_file():
            continue
        seen.add(module)
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        watched, local = _names_in(tree)
        found += watched
        todo += [m.split(".")[0] for m in local]
    return [f"runs {m}" if m.endswith("solution") else f"imports {m}"
            for m in dict.fromkeys(found)]


def _ended(run, function):
    """Why the child stopped before answering, as a sentence about the learner's code."""
    if run.ended.startswith("stopped"):
        return (f"{function} {run.ended.replace('stopped after', 'ran for more than')} (the "
                "exercise's limit) and was stopped with every process it started: an endless "
                "loop, or something left running?")
    if run.ended.startswith(("started", "held", "sent")):
        return f"{function} {run.ended} and was stopped with every process it started"
    last = (run.output.strip().splitlines() or [""])[-1]
    return (f"the solution took the grading process down ({run.ended})"
            + (f": {last}" if last else ""))


def _channel(run):
    """(load failure, {call: outcome}, imports, problem) from the channel's lines."""
    load_failure, outcomes, imports, problem = None, {}, [], ""
    for line in run.lines:
        if not isinstance(line, dict) or len(line) not in (1, 2):
            problem = "wrote a line the grader cannot read to its channel"
            continue
        if line == {"ready": True} or line == {"done": True}:
            continue
        if set(line) == {"load_failure"} and isinstance(line["load_failure"], str):
            load_failure = line["load_failure"]
        elif set(line) == {"call", "outcome"} and type(line["call"]) is int \
                and line["call"] not in outcomes:
            outcomes[line["call"]] = line["outcome"]
        elif set(line) == {"flags"} and isinstance(line["flags"], list) and all(
                isinstance(f, str) and f.startswith(_FLAGGED) and len(f) < 200
                for f in line["flags"]):
            imports += line["flags"]
        else:
            problem = "wrote a line the grader cannot read to its channel"
    return load_failure, outcomes, imports, problem


def grade_file(folder, name, *, seed=0, dtype=None, forbid_package_answers=False,
               timeout=10.0, seconds=SECONDS, memory=MEMORY):
    """Grade ``folder/<name>.py`` in a child process.

    Parameters
    ----------
    folder : str or Path
        The learner's folder (resolved here, before anything runs).
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.
    seed : int, optional
        Seed of the cases.
    dtype : {None, numpy.float64, numpy.float32}, optional
        Grade in this dtype only; by default in both.
    forbid_package_answers : bool, optional
        Fail the grade when the learner's code imports the package's own
        answers or the grader (it is reported in ``flags`` either way).
    timeout : float, optional
        Seconds each call of the learner's function may run.
    seconds : float, optional
        Seconds for the whole child, imports included.
    memory : int, optional
        Bytes of memory the child may add after its imports.

    Returns
    -------
    Grade

    Raises
    ------
    normrnn.exercises.sandbox.GraderBroken
        The grader itself could not start its child.
    """
    folder = Path(folder).resolve()
    seed, timeout = check_seed(seed), check_timeout(timeout)
    seconds = check_timeout(seconds)
    calls = [(case, dt) for case in make_cases(name, seed=seed)
             for dt in dtypes_for(dtype, case)]
    request = {"folder": str(folder), "name": name, "function": function_name(name),
               "outputs": list(OUTPUTS[name]), "inputs": list(INPUTS[name]),
               "timeout": timeout,
               "calls": [{"args": [encode_argument(a) for a in case.args(dt)],
                          "sizes": output_sizes(name, case, dt)} for case, dt in calls]}
    flags = package_answers(folder, name)
    run = run_child(request, folder=folder, seconds=seconds, memory=memory)
    load_failure, outcomes, imports, problem = _channel(run)
    flags += imports
    forbid = flags if forbid_package_answers else ()
    if load_failure is not None:
        return Grade(name, False, message=load_failure, flags=list(dict.fromkeys(flags)))
    results = []
    for i, (case, dt) in enumerate(calls):
        if i in outcomes:
            results.append(judge(name, case, dt, outcomes[i]))
            continue
        why = problem or (_ended(run, function_name(name)) if run.ended
                          else "the grading process did not answer")
        results.append(CaseResult(case.describe(dt), (*case.tags, dt.name), False, message=why))
    result = _xor(combine(name, [c for c, _ in calls], results, flags=flags, forbid=forbid))
    if problem and result.passed:
        result.passed, result.message = False, problem
    return result
