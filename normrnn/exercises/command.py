"""``normrnn exercise``: start, check and solution.

``normrnn exercise start DIR``
    Write a skeleton per exercise into DIR, and a pytest file; refuses to
    overwrite any existing file.
``normrnn exercise check DIR [--section NAME] [--json] [--seed N] [--forbid-package-answers]``
    Grade what is there, on several cases per exercise, and print a progress
    table.  Each exercise is graded in a child process of its own with a
    time, process, memory and output limit, so that an endless loop, a huge
    allocation, a crash or a patch of the grader in the learner's code costs
    that exercise a failing grade and nothing more; the verdict is reached
    in this process (:mod:`.isolated`).
``normrnn exercise solution NAME``
    Print the reference solution.
``normrnn exercise grade SUBMISSIONS --out RESULTS``, ``normrnn exercise autograder``
    Grade a class, a process per student; build Gradescope's bundle
    (:mod:`.classroom`).
"""

import inspect
import json
import os
import re
import sys
import textwrap
from pathlib import Path

from .._printable import show_path
from .. import reference
from .cases import BEYOND, EXERCISES
from .grading import Grade, function_name
from .isolated import SECONDS, grade_file
from .loader import solution_path
from .sandbox import GraderBroken
from .skeletons import TEST_FILE, docs_base, skeleton, test_file

__all__ = ["configure", "run", "check_folder", "format_progress"]

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
    check.add_argument("--seed", type=int, default=0,
                       help="seed of the cases (default: 0); keep one back to grade on "
                       "cases the learners have not seen")
    check.add_argument("--forbid-package-answers", action="store_true",
                       help="fail an exercise whose code imports the package's own answers "
                       "(normrnn.reference, .sections, .model, .notes) or the grader; "
                       "without it they are reported as flags")
    check.set_defaults(action_run=_check)
    solution = sub.add_parser("solution", help="print the reference solution of NAME",
                              description="Print the reference solution of one exercise.")
    solution.add_argument("name", metavar="NAME", help=", ".join(EXERCISES))
    solution.set_defaults(action_run=_solution)
    from . import classroom           # grade SUBMISSIONS, autograder: a class at once
    classroom.configure(sub)


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
        raise UsageError(f"{show_path(folder)} exists and is not a folder")
    base, source = docs_base(args.docs_url)
    files = {solution_path(folder, name): skeleton(name, base) for name in EXERCISES}
    files[folder / TEST_FILE] = test_file()
    # every target checked before any is written; lexists sees a link to nothing too
    existing = [path for path in files if os.path.lexists(path)]
    if existing:
        link = (f" (a link to {show_path(os.readlink(existing[0]))}: start never writes through a link)"
                if existing[0].is_symlink() else "")
        raise UsageError(f"{show_path(existing[0])} exists{link}; start never overwrites a learner's files "
                         f"({len(existing)} of {len(files)} exist): choose a new folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_new(files)
    except OSError as exc:
        raise UsageError(f"cannot write into {show_path(folder)}: {exc.strerror or exc}") from None
    print(f"wrote {len(files) - 1} exercises and {TEST_FILE} into {show_path(folder)}")
    print(f"docs links: {show_path(base)} ({source})")
    print(f"next: edit {show_path(solution_path(folder, EXERCISES[0]))}, then "
          f"`normrnn exercise check {show_path(folder)}`")
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

def check_folder(folder, names=EXERCISES, *, seed=0, forbid_package_answers=False,
                 seconds=SECONDS):
    """Grade the exercises ``names`` found in ``folder``, each in a child process.

    A missing file counts as not started.  ``folder`` is resolved before any
    learner code runs, so a solution that changes the working folder changes
    nothing for the others.

    Parameters
    ----------
    folder : Path
    names : sequence of str, optional
    seed : int, optional
        Seed of the cases: an instructor may keep one back.
    forbid_package_answers : bool, optional
        Fail an exercise whose code imports the package's own answers.
    seconds : float, optional
        Wall-clock seconds each exercise's child may take.

    Returns
    -------
    list of Grade

    Raises
    ------
    normrnn.exercises.sandbox.GraderBroken
        The grader could not start its child process.
    """
    folder = Path(folder).resolve()
    grades = []
    for n in names:
        if solution_path(folder, n).is_file():
            grades.append(grade_file(folder, n, seed=seed, seconds=seconds,
                                     forbid_package_answers=forbid_package_answers))
        else:
            grades.append(Grade(n, False, message=f"not started (no {n}.py)"))
    return grades


def format_progress(grades):
    """The progress table: exercise, passed, cases passed, largest error, diagnosis.

    Parameters
    ----------
    grades : sequence of Grade

    Returns
    -------
    str
    """
    lines = [f"{'exercise':<22}{'passed':<13}{'cases':>7}{'error':>10}  diagnosis", "-" * 86]
    for g in grades:
        passed = "yes" if g.passed else "not started" if g.not_started else "NO"
        cases = f"{g.cases_passed}/{g.cases_run}" if g.cases_run and not g.not_started else ""
        error = "" if g.errors == {} else f"{g.error:.2e}"
        summary = "" if g.not_started else g.summary()
        lines.append(f"{g.name:<22}{passed:<13}{cases:>7}{error:>10}  {summary}".rstrip())
    done = sum(g.passed for g in grades)
    runs = sum(g.cases_run for g in grades if not g.not_started)
    lines.append("-" * 86)
    lines.append(f"{done} of {len(grades)} passed ({runs} cases run)")
    return "\n".join(lines)


def _check(args):
    folder = args.dir
    if not folder.is_dir():
        raise UsageError(f"no folder {show_path(folder)} (start one with `normrnn exercise "
                         f"start {show_path(folder)}`)")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}")
    names = EXERCISES if args.section is None else [_exercise_name(args.section)]
    try:
        grades = check_folder(folder, names, seed=args.seed,
                              forbid_package_answers=args.forbid_package_answers)
    except GraderBroken as exc:
        print(f"normrnn: error: {exc} (a fault of the grader, not of the solutions)",
              file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps([g.to_dict() for g in grades], indent=2))
    else:
        print(format_progress(grades))
        for g in grades:
            if not g.passed and not g.not_started and (g.errors or g.flags):
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
    solution = BEYOND[name].solution if name in BEYOND else getattr(reference,
                                                                    function_name(name))
    main = inspect.getsource(solution)
    helpers = _helpers(main)
    header = (f"# The reference solution of the exercise {name!r}, from "
              f"{solution.__module__}.\n" "import numpy as np\n")
    if helpers:
        names = textwrap.fill(", ".join(helpers), 88, initial_indent="    ",
                              subsequent_indent="    ")
        header += f"from normrnn.reference import (\n{names},\n)\n"
    return header + "\n\n" + main


def _solution(args):
    print(solution_source(_exercise_name(args.name)), end="")
    return 0
