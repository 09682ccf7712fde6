"""The exercise folder: the files ``start`` writes, the grades of ``check``, the solutions.

The library half of ``normrnn exercise``; the command line (:mod:`normrnn.cli.exercise`)
parses, prints and exits, and nothing here writes to the terminal.
"""

import inspect
import os
import re
import textwrap
from pathlib import Path

from .. import reference
from .cases import BEYOND, EXERCISES
from .cython import CYTHON, race
from .grading import Grade, function_name
from .isolated import SECONDS, grade_file
from .loader import solution_path
from .skeletons import TEST_FILE, skeleton, test_file

__all__ = ["start_files", "cython_start_files", "write_new", "check_folder", "format_progress",
           "solution_source", "CYTHON_EXERCISES", "cython_track", "check_cython_folder",
           "format_cython_progress", "cython_solution"]


def start_files(folder, docs):
    """Path -> text of every file ``normrnn exercise start`` writes into ``folder``.

    Parameters
    ----------
    folder : Path
    docs : str
        Base of the docs links.

    Returns
    -------
    dict
    """
    files = {solution_path(folder, name): skeleton(name, docs) for name in EXERCISES}
    files[Path(folder) / TEST_FILE] = test_file()
    return files


def write_new(files):
    """Create each file, never through a link nor over a file; on failure remove those made.

    Parameters
    ----------
    files : dict
        Path -> text.

    Raises
    ------
    OSError
        A file could not be made (an existing one included); none is left behind.
    """
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


# --- the Cython track ----------------------------------------------------------------

#: The Cython track's exercises: the sections and the whole document, then the race.
CYTHON_EXERCISES = tuple(CYTHON) + (race.NAME,)


def cython_start_files(folder, docs):
    """Path -> text of every ``.pyx`` ``normrnn exercise start --cython`` writes.

    Parameters
    ----------
    folder : Path
    docs : str
        Base of the docs links.

    Returns
    -------
    dict
    """
    from .cython import templates
    files = {Path(folder) / templates.file_name(n): templates.skeleton(n, docs)
             for n in CYTHON_EXERCISES if n != race.NAME}
    files[Path(folder) / templates.file_name(race.NAME)] = race.skeleton()
    return files


def cython_track(folder):
    """Whether ``folder`` holds the Cython track (any ``<exercise>.pyx``)."""
    return any((Path(folder) / f"{n}.pyx").is_file() for n in CYTHON_EXERCISES)


def check_cython_folder(folder, names=CYTHON_EXERCISES, *, seed=0, cache=None,
                        forbid_package_answers=False, seconds=SECONDS):
    """Compile and grade the Cython exercises ``names`` of ``folder``.

    Parameters
    ----------
    folder : Path
    names : sequence of str, optional
    seed : int, optional
    cache : Path, optional
        The build folder (default: :func:`normrnn.exercises.cython.build.cache_folder`).
    forbid_package_answers : bool, optional
        Fail a section that cimports the package's kernels.
    seconds : float, optional
        Wall-clock seconds each exercise's child may take.

    Returns
    -------
    list of normrnn.exercises.cython.grade.KernelGrade
    """
    from .cython.grade import grade_kernel
    grades = []
    for n in names:
        if n == race.NAME:
            grades.append(race.grade_race(folder, seed=seed, cache=cache, seconds=seconds))
        else:
            grades.append(grade_kernel(folder, n, seed=seed, cache=cache, seconds=seconds,
                                       forbid_package_answers=forbid_package_answers))
    return grades


def format_cython_progress(grades):
    """The Cython track's table: result, speed, purity and level of each exercise.

    Parameters
    ----------
    grades : sequence of KernelGrade

    Returns
    -------
    str
    """
    from .cython.speed import FASTER, NEAR_OWN
    head = f"{'exercise':<22}{'result':<13}{'speed (H = 128)':<28}  {'purity':<34}  levels"
    lines = [head, "-" * len(head)]
    lines += [g.row() for g in grades]
    lines.append("-" * len(head))
    done = sum(g.passed for g in grades)
    lines.append(f"{done} of {len(grades)} correct.  Levels: 1 correct (every case, float32 "
                 f"and float64); 2 faster than the NumPy twin (at least {FASTER:g}x, or "
                 f"{NEAR_OWN:g}x normrnn's kernel where that is no faster than NumPy); 3 no "
                 "line of the kernel calls Python, and it runs without the GIL")
    return "\n".join(lines)


def cython_solution(name):
    """The package's own kernel for ``name`` (a ``.pyx`` that compiles alone).

    Parameters
    ----------
    name : str
        One of :data:`CYTHON_EXERCISES`.

    Returns
    -------
    str
    """
    from .cython import templates
    if name not in CYTHON_EXERCISES:
        raise ValueError(f"name must be one of {CYTHON_EXERCISES}, got {name!r}")
    return race.solution() if name == race.NAME else templates.solution(name)
