"""Grade a class: ``normrnn exercise grade SUBMISSIONS --out RESULTS``.

Each sub-folder of SUBMISSIONS is one student.  A student is graded by
``normrnn exercise check FOLDER --json`` in a process of its own, so that
nothing one student's code does (a crash, an endless loop, a segfault,
``os._exit``, a huge allocation, a patch of the grader) reaches anybody
else's grade:

* the student's top-level ``.py`` files (never links, never their own
  ``test_exercises.py``; one folder down when the solutions arrived in a
  folder of their own, see :func:`solution_folder`) are copied into a fresh
  temporary folder, which is what gets graded, with another fresh folder as
  the working folder: nothing is written into SUBMISSIONS, and no student's
  module cache, working folder or files are another's;
* the process is started as ``python -I``, with the folder of the
  :mod:`normrnn` that runs this module first on its path, so neither the
  current folder nor ``PYTHONPATH`` decides which grader runs;
* it runs in a session of its own under a wall-clock limit and a limit on
  the resident memory of all its processes together; when a limit is
  reached, or when it ends, it is stopped, then every process descended from
  it, in its session or carrying its environment marker, and all are killed;
* its output goes to files, not pipes (no leftover process can make the
  grader wait), and is read up to a cap.

``--jobs`` students are graded at a time (default: one per core).  The
reports (:mod:`.class_reports`) are written when every student is graded.
"""

import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .cases import EXERCISES
from .skeletons import TEST_FILE

__all__ = ["GRADE_MEMORY", "GRADE_SECONDS", "OUTPUT_CAP", "SUBMISSION_CAP", "ClassError", "StudentGrades",
           "configure", "display_name", "grade_class", "grade_student", "read_grades",
           "check_options", "score", "solution_folder", "students_in"]

#: Default wall-clock seconds for grading one student, every exercise included.
GRADE_SECONDS = 600.0
#: Bytes of the grading process's output (its JSON grades, its stderr) read at most.
OUTPUT_CAP = 8 << 20
#: Default bytes of resident memory one student's processes may hold together.
GRADE_MEMORY = 4 << 30
#: Bytes of ``.py`` files one submission may hold.
SUBMISSION_CAP = 16 << 20
#: Seconds between two looks at a grading process.
POLL = 0.05
#: Seconds between two measures of its memory.
MEMORY_POLL = 0.5
#: The environment variable that marks every process of one student's grading.
MARKER = "NORMRNN_CLASSROOM_STUDENT"

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)
_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from normrnn._console import main; sys.exit(main())")


class ClassError(Exception):
    """The class could not be graded (a path, an option): ``str()`` is the one line."""


@dataclass
class StudentGrades:
    """One student's grades.

    Attributes
    ----------
    student : str
        The folder's name, as it is on disk (untrusted: print
        :func:`display_name` of it).
    grades : list of dict
        One per exercise, as :func:`read_grades` returns them.
    problem : str
        Why the grading did not finish (``""`` when it did); the exercises it
        did not report fail with this message.
    grader_fault : bool
        The problem is the grader's (it could not start, or its output could
        not be read), not the student's: the exercises are not graded.
    seconds : float
        Wall-clock seconds the grading took.
    """

    student: str
    grades: list = field(default_factory=list)
    problem: str = ""
    grader_fault: bool = False
    seconds: float = 0.0

    @property
    def score(self):
        """The points earned: :func:`score` summed over the exercises."""
        return round(sum(score(g) for g in self.grades), 4)

    @property
    def max_score(self):
        """The points available: one per exercise."""
        return float(len(self.grades))

    @property
    def passed(self):
        """How many exercises passed."""
        return sum(g["passed"] for g in self.grades)


# --- names ---------------------------------------------------------------------------

def display_name(name):
    """``name`` fit to print: every character that is not printable, and ``\\``, escaped.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    return "".join(c if c.isprintable() and c != "\\" else
                   "\\\\" if c == "\\" else repr(c)[1:-1] for c in name)


# --- the grades one student's check printed ------------------------------------------

def _grade(item):
    """One exercise's grade from ``check --json``, with defaults for what it may lack."""
    if not isinstance(item, dict) or item.get("name") not in EXERCISES:
        raise ValueError("not a grade")
    passed = bool(item.get("passed"))
    message = str(item.get("message") or "")
    status = item.get("status") or ("passed" if passed else "not started"
                                     if message.startswith("not started") else "failed")
    return {"name": item["name"], "passed": passed, "status": str(status),
            "cases_run": int(item.get("cases_run", 1)),
            "cases_passed": int(item.get("cases_passed", int(passed))),
            "diagnosis": str(item.get("diagnosis") or ""), "message": message,
            "flags": [str(f) for f in item.get("flags") or []],
            "failed_cases": [str(c) for c in item.get("failed_cases") or []]}


def read_grades(text):
    """The grades ``normrnn exercise check DIR --json`` printed, as plain dicts.

    Each dict has ``name``, ``passed``, ``status``, ``cases_run``,
    ``cases_passed``, ``diagnosis``, ``message``, ``flags`` and
    ``failed_cases``; a grade written before cases were counted counts as
    one case (passed or not).

    Parameters
    ----------
    text : str

    Returns
    -------
    dict
        Exercise name -> grade.

    Raises
    ------
    ValueError
        ``text`` is not such a list of grades.
    """
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("not a list of grades")
    return {g["name"]: g for g in map(_grade, data)}


def score(grade):
    """The points of one exercise, out of 1: the share of its cases that passed.

    A passing exercise scores 1.  A failing one scores the share of its cases
    that passed, unless every case passed and it failed as a whole (it reads
    the package's own answers where that is forbidden, or derives nothing):
    then 0.

    Parameters
    ----------
    grade : dict
        As :func:`read_grades` returns it.

    Returns
    -------
    float
    """
    if grade["passed"]:
        return 1.0
    run, passed = grade["cases_run"], grade["cases_passed"]
    return round(passed / run, 4) if 0 < run and passed < run else 0.0


# --- one student ---------------------------------------------------------------------

def _copy_submission(folder, into):
    """Copy ``folder``'s top-level ``.py`` files (no links, no test file) into ``into``."""
    into.mkdir()
    total = 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if (entry.name.endswith(".py") and entry.name != TEST_FILE
                and entry.is_file(follow_symlinks=False)):
            total += entry.stat(follow_symlinks=False).st_size
            if total > SUBMISSION_CAP:
                return f"its .py files hold more than {SUBMISSION_CAP >> 20} MiB: not graded"
            with open(entry.path, "rb") as source, open(into / entry.name, "xb") as copy:
                shutil.copyfileobj(source, copy)
    return ""


def _has_solutions(folder):
    return any((folder / f"{name}.py").is_file() for name in EXERCISES)


def solution_folder(folder):
    """The folder holding a student's solutions: ``folder``, or its one sub-folder that does.

    A submission uploaded as a folder arrives one level down
    (``alice/my-bptt/hh.py``); when ``folder`` holds no exercise file and
    exactly one of its sub-folders (no link, not hidden) does, that one is
    graded.

    Parameters
    ----------
    folder : Path

    Returns
    -------
    Path
    """
    if _has_solutions(folder):
        return folder
    try:
        inner = [Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)
                 and not e.name.startswith(".") and e.name != "__pycache__"]
    except OSError:
        return folder
    found = [f for f in inner if _has_solutions(f)]
    return found[0] if len(found) == 1 else folder


def _marked(marker):
    """The ids of this user's processes whose environment holds ``marker``."""
    found, mine = [], os.getpid()
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if marker in handle.read().split(b"\0") and pid != mine:
                    found.append(pid)
        except OSError:
            continue
    return found


def _resident(pids):
    """Bytes of resident memory the processes ``pids`` hold together."""
    total, page = 0, os.sysconf("SC_PAGE_SIZE")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def _processes():
    """Process id -> (parent id, session id), for every process on the system."""
    table = {}
    try:
        names = [n for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return table
    for name in names:
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[3]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def _family(root, marker=None):
    """The processes of one student's grading, ``root`` (the grading process) aside.

    Its descendants, the processes of its session, and with ``marker`` every
    process whose environment holds it (which finds those whose parent died).
    """
    table = _processes()
    family = {pid for pid, (_, session) in table.items() if session == root}
    children = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    todo, seen = [root], {root}
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    family |= seen
    if marker is not None:
        family |= set(_marked(marker))
    return family - {root, os.getpid()}


def _signal(pid, signum, group=False):
    try:
        (os.killpg if group else os.kill)(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _end_all(process, marker):
    """Kill ``process``, its group and its family (:func:`_family`); reap ``process``.

    ``process`` is stopped first, then each member of the family as it is
    found (a stopped process neither starts nor reaps another), and only then
    are they all killed: so no member is orphaned, and lost from the tree,
    before it is found.  ``process`` is not reaped before then, so its id
    (its group's and session's id) cannot have been reused.
    """
    _signal(process.pid, signal.SIGSTOP)
    found = set()
    for _ in range(20):
        new = _family(process.pid, marker) - found
        if not new:
            break
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        found |= new
    for pid in found:
        _signal(pid, signal.SIGKILL)
    _signal(process.pid, signal.SIGKILL, group=True)
    _signal(process.pid, signal.SIGKILL)
    process.wait()
    for _ in range(5):                # what carried the marker and was forked meanwhile
        leftovers = _marked(marker)
        for pid in leftovers:
            _signal(pid, signal.SIGKILL)
        if not leftovers:
            break


def _exited(process):
    """Whether ``process`` has ended, without reaping it (where the system allows)."""
    if hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, process.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True
    return process.poll() is not None


def _watch(process, files, limits, stop):
    """Wait for ``process``; the reason it was stopped, or ``""`` if it ended by itself."""
    timeout, memory = limits
    deadline = time.monotonic() + timeout
    measure = time.monotonic() + MEMORY_POLL
    while not _exited(process):
        if stop.is_set():
            return "interrupted"
        if time.monotonic() > deadline:
            return (f"grading took more than {timeout:g} s and was stopped "
                    "(an endless loop?)")
        if any(os.fstat(f.fileno()).st_size > OUTPUT_CAP for f in files):
            return f"the grading process printed more than {OUTPUT_CAP >> 20} MiB"
        if time.monotonic() > measure:
            measure = time.monotonic() + MEMORY_POLL
            if _resident(_family(process.pid) | {process.pid}) > memory:
                return f"grading used more than {memory / (1 << 30):g} GiB of memory and was stopped"
        time.sleep(POLL)
    return ""


def _check_command(folder, seed, options):
    return [sys.executable, "-I", "-c", _BOOT, _PACKAGE_ROOT, "exercise", "check",
            str(folder), "--json", "--seed", str(seed), *options]


def _run_check(folder, workdir, seed, limits, options, stop):
    """Run ``check --json`` on ``folder``: (exit status or None, stdout, stderr, stopped)."""
    token = secrets.token_hex(8)
    marker = f"{MARKER}={token}".encode()
    env = {**os.environ, "MPLBACKEND": "Agg", MARKER: token}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(_check_command(folder, seed, options), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=err, cwd=workdir, env=env,
                                   start_new_session=True)
        try:
            stopped = _watch(process, (out, err), limits, stop)
        finally:
            _end_all(process, marker)
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read(OUTPUT_CAP).decode("utf-8", errors="replace"))
    return (None if stopped else process.returncode), texts[0], texts[1], stopped


def _last_line(text):
    lines = text.strip().splitlines()
    return " ".join(lines[-1].split())[:300] if lines else ""


def _why_not_read(status, stderr):
    if status is not None and status < 0:
        why = f"killed by signal {-status}"
    else:
        why = f"exit status {status}"
    last = _last_line(stderr)
    return f"the grader failed ({why}{': ' + last if last else ''})"


def _fill(grades, message):
    """Every exercise: its grade if reported, else a failing one with ``message``."""
    return [grades.get(name) or _grade({"name": name, "passed": False, "message": message,
                                        "cases_run": 0, "cases_passed": 0})
            for name in EXERCISES]


def grade_student(folder, *, seed=0, timeout=GRADE_SECONDS, memory=GRADE_MEMORY, options=(),
                  stop=None):
    """Grade one student's folder in a process of its own.

    Parameters
    ----------
    folder : str or Path
        The student's folder, left untouched: a copy of its ``.py`` files is
        graded.
    seed : int, optional
        Seed of the cases.
    timeout : float, optional
        Wall-clock seconds for the whole student.
    memory : int, optional
        Bytes of resident memory the student's processes may hold together
        (measured twice a second).
    options : sequence of str, optional
        More options for ``normrnn exercise check``.
    stop : threading.Event, optional
        Set to stop the grading early (Ctrl-C).

    Returns
    -------
    StudentGrades
    """
    folder = Path(folder)
    stop = stop or threading.Event()
    start = time.monotonic()
    result = StudentGrades(folder.name)
    with tempfile.TemporaryDirectory(prefix="normrnn-grade-", ignore_cleanup_errors=True) \
            as scratch:
        copy, workdir = Path(scratch) / "submission", Path(scratch) / "work"
        workdir.mkdir()
        try:
            result.problem = _copy_submission(solution_folder(folder), copy)
        except OSError as exc:
            result.problem = f"its files could not be read ({exc.strerror or exc})"
        grades = {}
        if not result.problem:
            status, stdout, stderr, stopped = _run_check(copy, workdir, seed,
                                                         (timeout, memory), options, stop)
            try:
                grades = read_grades(stdout) if status in (0, 1) else {}
            except ValueError:
                grades = {}
            if stopped:
                result.problem = stopped
            elif status not in (0, 1) or not grades:
                result.problem, result.grader_fault = _why_not_read(status, stderr), True
            elif len(grades) < len(EXERCISES):
                result.problem = "not graded: the grader reported no grade for it"
                result.grader_fault = True
    result.grades = _fill(grades, result.problem)
    result.seconds = time.monotonic() - start
    return result


# --- a class -------------------------------------------------------------------------

def students_in(submissions):
    """The students' folders in ``submissions``, by name; links and hidden folders skipped.

    Parameters
    ----------
    submissions : str or Path

    Returns
    -------
    list of Path

    Raises
    ------
    ClassError
        ``submissions`` is not a folder, or holds no student folder.
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise ClassError(f"no folder {display_name(str(submissions))}")
    try:
        entries = sorted(os.scandir(submissions), key=lambda e: e.name)
    except OSError as exc:
        raise ClassError(f"cannot read {display_name(str(submissions))}: "
                         f"{exc.strerror or exc}") from None
    students = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)
                and not e.name.startswith(".") and e.name != "__pycache__"]
    if not students:
        raise ClassError(f"{display_name(str(submissions))} holds no student folder "
                         "(one sub-folder per student)")
    return students


def _result(future, student):
    """The future's StudentGrades; a failure of the grader itself fails only this student."""
    try:
        return future.result()
    except Exception as exc:
        problem = f"the grader failed ({type(exc).__name__}: {' '.join(str(exc).split())})"
        return StudentGrades(student.name, _fill({}, problem), problem, True)


def grade_class(students, *, seed=0, jobs=None, timeout=GRADE_SECONDS, memory=GRADE_MEMORY,
                options=(), progress=None):
    """Grade every student, ``jobs`` at a time; the grades in the order of ``students``.

    Parameters
    ----------
    students : sequence of Path
        The students' folders (see :func:`students_in`).
    seed : int, optional
    jobs : int, optional
        Students graded at once (default: ``os.cpu_count()``).
    timeout : float, optional
        Wall-clock seconds for each student.
    memory : int, optional
        Bytes of resident memory each student's processes may hold together.
    options : sequence of str, optional
        More options for ``normrnn exercise check``.
    progress : callable, optional
        Called with each :class:`StudentGrades` as it is done.

    Returns
    -------
    list of StudentGrades
    """
    jobs = jobs or os.cpu_count() or 1
    stop = threading.Event()
    results = {}
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = {}
    try:
        for s in students:
            futures[pool.submit(grade_student, s, seed=seed, timeout=timeout, memory=memory,
                                options=options, stop=stop)] = s
        for future in as_completed(futures):
            student = futures[future]
            results[student] = _result(future, student)
            if progress is not None:
                progress(results[student])
    except BaseException:
        stop.set()                # each running grading kills its processes and returns
        _finish(futures)
        pool.shutdown(wait=False)
        raise
    pool.shutdown(wait=True)
    return [results[s] for s in students]


def _finish(futures):
    """Wait until every running grading has killed its processes, whatever interrupts.

    After a Ctrl-C the command's handler raises ``KeyboardInterrupt`` again
    every few milliseconds until the command ends; none of them may cut this
    wait short, or a student's processes would outlive the command.  (A
    ``Thread.join`` that such an interrupt cuts short may take the thread for
    ended: so the futures themselves are watched.)
    """
    while True:
        try:
            for future in futures:
                future.cancel()
            while not all(future.done() for future in futures):
                time.sleep(POLL)
            return
        except KeyboardInterrupt:
            continue


# --- the command line ----------------------------------------------------------------

def _seed(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _jobs(text):
    import argparse
    value = _seed(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer, got 0")
    return value


def _positive(text):
    import argparse
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def configure(sub):
    """Add ``grade`` and ``autograder`` to the ``exercise`` actions ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
    """
    grade = sub.add_parser(
        "grade", help="grade a class: a sub-folder of SUBMISSIONS per student",
        description="Grade every student (a sub-folder of SUBMISSIONS), each in a process of "
        "its own, and write RESULTS/grades.csv, RESULTS/junit.xml and "
        "RESULTS/<student>/results.json (Gradescope's format). Exit status 0 when grading ran, "
        "whatever the students scored.")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    grade.add_argument("--out", type=Path, required=True, metavar="RESULTS",
                       help="folder of the reports (created; not inside SUBMISSIONS)")
    grade.add_argument("--seed", type=_seed, default=0, metavar="N",
                       help="seed of the cases (default: 0); keep one back for hidden cases")
    grade.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                       help="students graded at once (default: one per core)")
    grade.add_argument("--timeout", type=_positive, default=GRADE_SECONDS, metavar="SECONDS",
                       help=f"wall-clock limit for each student (default: {GRADE_SECONDS:g})")
    grade.add_argument("--memory", type=_positive, default=GRADE_MEMORY / (1 << 30),
                       metavar="GIB", help="resident memory each student's processes may hold "
                       f"together (default: {GRADE_MEMORY >> 30})")
    grade.add_argument("--forbid-package-answers", action="store_true",
                       help="fail an exercise whose code imports the package's own answers "
                       "(passed on to `normrnn exercise check`); without it they are flags")
    grade.set_defaults(action_run=_grade_command)
    from . import autograder
    autograder.configure(sub)


def check_options(args):
    """The options of ``normrnn exercise check`` that ``args`` asks for.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    list of str
    """
    return ["--forbid-package-answers"] if getattr(args, "forbid_package_answers", False) else []


def _progress(total):
    done = []
    lock = threading.Lock()

    def report(student):
        with lock:
            done.append(student)
            line = (f"[{len(done)}/{total}] {display_name(student.student)}: "
                    f"{student.passed} of {len(student.grades)} passed, score "
                    f"{student.score:g}/{student.max_score:g} ({student.seconds:.1f} s)")
            if student.problem:
                line += f"; {display_name(student.problem)}"
            print(line, file=sys.stderr, flush=True)
    return report


def _grade_command(args):
    from . import class_reports
    try:
        students = students_in(args.submissions)
        targets = class_reports.prepare(args.out, args.submissions,
                                        [s.name for s in students])
    except ClassError as exc:
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 1
    start = time.monotonic()
    results = grade_class(students, seed=args.seed, jobs=args.jobs, timeout=args.timeout,
                          memory=int(args.memory * (1 << 30)), options=check_options(args),
                          progress=_progress(len(students)))
    try:
        class_reports.write(targets, results)
    except OSError as exc:
        print(f"normrnn: error: cannot write the reports into {args.out}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"graded {len(results)} students in {time.monotonic() - start:.1f} s; wrote "
          f"{args.out / 'grades.csv'}, {args.out / 'junit.xml'} and "
          f"{args.out / '<student>' / 'results.json'}")
    broken = [r for r in results if r.grader_fault]
    if broken:
        print(f"normrnn: error: {len(broken)} of {len(results)} students could not be graded "
              f"({display_name(broken[0].problem)}); their rows say so", file=sys.stderr)
        return 3
    return 0
