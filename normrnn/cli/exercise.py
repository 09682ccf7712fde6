"""``normrnn exercise``: start, check and solution, for the Python and the Cython track.

``normrnn exercise start DIR [--cython]``
    Write a skeleton per exercise into DIR (a ``.py`` each and a pytest file;
    with ``--cython`` a ``.pyx`` kernel each); refuses to overwrite any file.
``normrnn exercise check DIR [--section NAME] [--json] [--seed N] [--forbid-package-answers]``
    Grade what is there and print a progress table.  A folder holding ``.pyx``
    exercises is the Cython track: each file is compiled (cached by content)
    and graded for correctness, speed and purity.  Each exercise is graded in
    a child process of its own with a time, process, memory and output limit
    (:mod:`normrnn.exercises.isolated`); the verdict is reached in this process.
``normrnn exercise solution [--cython] NAME``
    Print the reference solution (with ``--cython``, the package's own kernel).
``normrnn exercise grade SUBMISSIONS --out RESULTS``, ``normrnn exercise autograder``
    Grade a class, a process per student; build Gradescope's bundle
    (:mod:`normrnn.exercises.classroom`).

The work is :mod:`normrnn.exercises.folder`'s; this module parses, prints and
returns the exit status.
"""

import json
import os
import sys
from pathlib import Path

__all__ = ["HELP", "configure", "run"]

HELP = "graded exercises: start DIR, check DIR, solution NAME, grade SUBMISSIONS"


class UsageError(Exception):
    """A mistake on the command line: one line on stderr, exit status 2."""


def configure(parser):
    """Add ``start``, ``check``, ``solution`` (and the class actions) to the parser."""
    from ..exercises.cases import EXERCISES
    from ..exercises.folder import CYTHON_EXERCISES
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = sub.add_parser("start", help="write a skeleton per exercise into DIR",
                           description="Write a skeleton module per exercise, and a pytest "
                           "file, into DIR (created if needed); existing files are never "
                           "overwritten.")
    start.add_argument("dir", type=Path, metavar="DIR")
    start.add_argument("--cython", action="store_true",
                       help="the Cython track: a .pyx kernel per section to write, compiled "
                       "and graded for correctness, speed and purity")
    start.add_argument("--docs-url", default=None,
                       help="base of the docs links in the skeletons (default: "
                       "$NORMRNN_DOCS_URL, else the docs built in the source tree, "
                       "else the published docs); start says which it used")
    start.set_defaults(action_run=_start)
    check = sub.add_parser("check", help="grade the exercises in DIR",
                           description="Grade the exercises in DIR and print a progress "
                           "table; exit status 0 only if every graded exercise passed.  A "
                           "folder of .pyx exercises is graded as the Cython track.")
    check.add_argument("dir", type=Path, metavar="DIR")
    check.add_argument("--section", default=None, metavar="NAME",
                       help=f"grade one exercise only: {', '.join(EXERCISES)} "
                       f"(Cython track: also {CYTHON_EXERCISES[-1]})")
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
    solution.add_argument("--cython", action="store_true",
                          help="print the package's own Cython kernel for the section")
    solution.set_defaults(action_run=_solution)
    from ..exercises import classroom           # grade SUBMISSIONS, autograder: a class at once
    classroom.configure(sub)


def run(args):
    """Run the chosen action; a usage mistake prints one line and returns 2."""
    try:
        return args.action_run(args)
    except UsageError as exc:
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 2


def _exercise_name(name, names):
    if name not in names:
        raise UsageError(f"no exercise {name!r}; choose from {', '.join(names)}")
    return name


# --- start -------------------------------------------------------------------------

def _start(args):
    from .._printable import show_path
    from ..exercises.folder import cython_start_files, start_files, write_new
    from ..exercises.loader import solution_path
    from ..exercises.skeletons import TEST_FILE, docs_base
    folder = args.dir
    if folder.is_symlink() and not folder.exists():
        raise UsageError(f"{folder} is a link to nothing: choose a folder")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{show_path(folder)} exists and is not a folder")
    base, source = docs_base(args.docs_url)
    files = cython_start_files(folder, base) if args.cython else start_files(folder, base)
    # every target checked before any is written; lexists sees a link to nothing too
    existing = [path for path in files if os.path.lexists(path)]
    if existing:
        link = (f" (a link to {show_path(os.readlink(existing[0]))}: start never writes through a link)"
                if existing[0].is_symlink() else "")
        raise UsageError(f"{show_path(existing[0])} exists{link}; start never overwrites a learner's files "
                         f"({len(existing)} of {len(files)} exist): choose a new folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_new(files)
    except OSError as exc:
        raise UsageError(f"cannot write into {show_path(folder)}: {exc.strerror or exc}") from None
    if args.cython:
        first = next(iter(files))
        print(f"wrote {len(files)} Cython exercises (.pyx) into {show_path(folder)}")
    else:
        first = solution_path(folder, next(iter(files)).stem)
        print(f"wrote {len(files) - 1} exercises and {TEST_FILE} into {show_path(folder)}")
    print(f"docs links: {show_path(base)} ({source})")
    print(f"next: edit {show_path(first)}, then `normrnn exercise check {show_path(folder)}`")
    return 0


# --- check -------------------------------------------------------------------------

def _check(args):
    from .._printable import show_path
    from ..exercises.cases import EXERCISES
    from ..exercises.folder import (CYTHON_EXERCISES, check_cython_folder, check_folder,
                                    cython_track, format_cython_progress, format_progress)
    from ..exercises.sandbox import GraderBroken
    folder = args.dir
    if not folder.is_dir():
        raise UsageError(f"no folder {show_path(folder)} (start one with `normrnn exercise "
                         f"start {show_path(folder)}`)")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}")
    cython = cython_track(folder)
    every = CYTHON_EXERCISES if cython else EXERCISES
    names = every if args.section is None else [_exercise_name(args.section, every)]
    try:
        if cython:
            grades = check_cython_folder(folder, names, seed=args.seed,
                                         forbid_package_answers=args.forbid_package_answers)
        else:
            grades = check_folder(folder, names, seed=args.seed,
                                  forbid_package_answers=args.forbid_package_answers)
    except GraderBroken as exc:
        print(f"normrnn: error: {exc} (a fault of the grader, not of the solutions)",
              file=sys.stderr)
        return 3
    except RuntimeError as exc:                  # the Cython track without its build config
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps([g.to_dict() for g in grades], indent=2))
    elif cython:
        print(format_cython_progress(grades))
        for g in grades:
            if not g.not_started:
                print()
                print(g.report())
    else:
        print(format_progress(grades))
        for g in grades:
            if not g.passed and not g.not_started and (g.errors or g.flags):
                print()
                print(g.report())
    return 0 if all(g.passed for g in grades) else 1


# --- solution ----------------------------------------------------------------------

def _solution(args):
    from ..exercises.cases import EXERCISES
    from ..exercises.folder import CYTHON_EXERCISES, cython_solution, solution_source
    if args.cython:
        print(cython_solution(_exercise_name(args.name, CYTHON_EXERCISES)), end="")
    else:
        print(solution_source(_exercise_name(args.name, EXERCISES)), end="")
    return 0
