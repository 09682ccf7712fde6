"""``normrnn exercise``: start, check and solution.

``normrnn exercise start DIR``
    Write a skeleton per exercise into DIR, and a pytest file; refuses to
    overwrite any existing file.
``normrnn exercise check DIR [--section NAME] [--json]``
    Grade what is there and print a progress table.  Each exercise is graded
    in a child process with a time limit and a memory limit, so that an
    endless loop, a huge allocation or a crash in the learner's code costs
    that exercise a failing grade and nothing more.
``normrnn exercise solution NAME``
    Print the reference solution.
"""

import inspect
import json
import os
import re
import textwrap
import subprocess
import sys
from pathlib import Path

from .. import reference
from .cases import EXERCISES
from .grading import Grade, function_name
from .loader import solution_path
from .skeletons import TEST_FILE, docs_base, skeleton, test_file

__all__ = ["configure", "run", "check_folder", "format_progress"]

#: Seconds a child process may take to grade one exercise, imports included.
CHILD_SECONDS = 120
#: Bytes of address space a grading child may add to what it has after imports.
CHILD_MEMORY = 2 << 30


class UsageError(Exception):
    """A mistake on the command line: one line on stderr, exit status 2."""


def configure(parser):
    """Add ``start``, ``check`` and ``solution`` to the ``exercise`` parser."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = sub.add_parser("start", help="write a skeleton per exercise into DIR",
                           description="Write a skeleton module per exercise, and a pytest "
                           "file, into DIR (created if needed); existing files are never "
                           "overwritten.")
    start.add_argument("dir", type=Path, metavar="DIR")
    start.add_argument("--docs-url", default=None,
                       help="base of the docs links in the skeletons (default: "
                       "$NORMRNN_DOCS_URL, else the docs built in the source tree, "
                       "else the published docs); start says which it used")
    start.set_defaults(action_run=_start)
    check = sub.add_parser("check", help="grade the exercises in DIR",
                           description="Grade the exercises in DIR and print a progress "
                           "table; exit status 0 only if every graded exercise passed.")
    check.add_argument("dir", type=Path, metavar="DIR")
    check.add_argument("--section", default=None, metavar="NAME",
                       help=f"grade one exercise only: {', '.join(EXERCISES)}")
    check.add_argument("--json", action="store_true", help="print the grades as JSON")
    check.add_argument("--seed", type=int, default=0, help="seed of the inputs (default: 0)")
    check.set_defaults(action_run=_check)
    solution = sub.add_parser("solution", help="print the reference solution of NAME",
                              description="Print the reference solution of one exercise.")
    solution.add_argument("name", metavar="NAME", help=", ".join(EXERCISES))
    solution.set_defaults(action_run=_solution)


def run(args):
    """Run the chosen action; a usage mistake prints one line and returns 2."""
    try:
        return args.action_run(args)
    except UsageError as exc:
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 2


def _exercise_name(name):
    if name not in EXERCISES:
        raise UsageError(f"no exercise {name!r}; choose from {', '.join(EXERCISES)}")
    return name


# --- start -------------------------------------------------------------------------

def _start(args):
    folder = args.dir
    if folder.is_symlink() and not folder.exists():
        raise UsageError(f"{folder} is a link to nothing: choose a folder")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    base, source = docs_base(args.docs_url)
    files = {solution_path(folder, name): skeleton(name, base) for name in EXERCISES}
    files[folder / TEST_FILE] = test_file()
    # every target checked before any is written; lexists sees a link to nothing too
    existing = [path for path in files if os.path.lexists(path)]
    if existing:
        link = (f" (a link to {os.readlink(existing[0])}: start never writes through a link)"
                if existing[0].is_symlink() else "")
        raise UsageError(f"{existing[0]} exists{link}; start never overwrites a learner's files "
                         f"({len(existing)} of {len(files)} exist): choose a new folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_new(files)
    except OSError as exc:
        raise UsageError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    print(f"wrote {len(files) - 1} exercises and {TEST_FILE} into {folder}")
    print(f"docs links: {base} ({source})")
    print(f"next: edit {solution_path(folder, EXERCISES[0])}, then "
          f"`normrnn exercise check {folder}`")
    return 0


def _write_new(files):
    """Create each file, never through a link nor over a file; on failure remove those made."""
    made = []
    try:
        for path, text in files.items():
            # O_EXCL refuses any existing name, a link included; O_NOFOLLOW says so twice
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            descriptor = os.open(path, flags, 0o644)
            made.append(path)
            with open(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
    except OSError:
        for path in made:
            path.unlink(missing_ok=True)
        raise


# --- check -------------------------------------------------------------------------

def _grade_in_children(folder, names, seed):
    """Grade ``folder/<name>.py`` for each name in a child process; a Grade each.

    One child grades the exercises in turn, printing each grade as a line.  If
    it dies or runs out of time, the exercise it was grading fails with that
    message, and a new child takes the rest.
    """
    grades, todo = [], list(names)
    while todo:
        command = [sys.executable, "-m", "normrnn.exercises.child", str(folder), str(seed),
                   str(CHILD_MEMORY), *todo]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=CHILD_SECONDS * len(todo),
                                  env={**os.environ, "MPLBACKEND": "Agg"})
            stdout, stderr, why = done.stdout, done.stderr, (
                f"killed by signal {-done.returncode}" if done.returncode < 0
                else f"exit status {done.returncode}")
        except subprocess.TimeoutExpired as exc:
            stdout, stderr = _text(exc.stdout), _text(exc.stderr)
            why = f"stopped after {CHILD_SECONDS * len(todo)} s: an endless loop in C code?"
        for line in stdout.splitlines():
            if line.startswith("{"):
                grades.append(Grade.from_dict(json.loads(line)))
                todo.pop(0)
        if todo:
            last = (stderr.strip().splitlines() or [""])[-1]
            grades.append(Grade(todo.pop(0), False,
                                message=f"the solution took the grading process down ({why})"
                                + (f": {last}" if last else "")))
    return grades


def _text(output):
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def check_folder(folder, names=EXERCISES, *, seed=0):
    """Grade the exercises ``names`` found in ``folder``, in child processes.

    A missing file counts as not started.

    Parameters
    ----------
    folder : Path
    names : sequence of str, optional
    seed : int, optional

    Returns
    -------
    list of Grade
    """
    present = [n for n in names if solution_path(folder, n).is_file()]
    graded = {g.name: g for g in _grade_in_children(folder, present, seed)} if present else {}
    return [graded.get(n) or Grade(n, False, message=f"not started (no {n}.py)") for n in names]


def format_progress(grades):
    """The progress table: exercise, passed, largest error, diagnosis.

    Parameters
    ----------
    grades : sequence of Grade

    Returns
    -------
    str
    """
    lines = [f"{'exercise':<22}{'passed':<13}{'error':>9}  diagnosis", "-" * 78]
    for g in grades:
        passed = "yes" if g.passed else "not started" if g.not_started else "NO"
        error = "" if g.errors == {} else f"{g.error:.2e}"
        summary = "" if g.not_started else g.summary()
        lines.append(f"{g.name:<22}{passed:<13}{error:>9}  {summary}".rstrip())
    done = sum(g.passed for g in grades)
    lines.append("-" * 78)
    lines.append(f"{done} of {len(grades)} passed")
    return "\n".join(lines)


def _check(args):
    folder = args.dir
    if not folder.is_dir():
        raise UsageError(f"no folder {folder} (start one with `normrnn exercise start "
                         f"{folder}`)")
    names = EXERCISES if args.section is None else [_exercise_name(args.section)]
    grades = check_folder(folder, names, seed=args.seed)
    if args.json:
        print(json.dumps([g.to_dict() for g in grades], indent=2))
    else:
        print(format_progress(grades))
        for g in grades:
            if not g.passed and not g.not_started and g.errors:
                print()
                print(g.report())
    return 0 if all(g.passed for g in grades) else 1


# --- solution ----------------------------------------------------------------------

def _helpers(source):
    """The functions of :mod:`normrnn.reference` that ``source`` calls, in order."""
    return [n for n in reference.__all__ if re.search(rf"(?<![\w.]){n}\(", source)
            and f"def {n}(" not in source]


def solution_source(name):
    """The reference solution of exercise ``name``, with the helpers it calls.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    main = inspect.getsource(getattr(reference, function_name(name)))
    helpers = _helpers(main)
    header = (f"# The reference solution of the exercise {name!r}, from normrnn.reference.\n"
              "import numpy as np\n")
    if helpers:
        names = textwrap.fill(", ".join(helpers), 88, initial_indent="    ",
                              subsequent_indent="    ")
        header += f"from normrnn.reference import (\n{names},\n)\n"
    return header + "\n\n" + main


def _solution(args):
    print(solution_source(_exercise_name(args.name)), end="")
    return 0
