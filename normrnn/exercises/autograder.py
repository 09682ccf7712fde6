"""The Gradescope bundle: ``normrnn exercise autograder --out autograder.zip``.

For a class too big for one machine, Gradescope grades each submission on
its own fleet, from a zip it is given once:

``setup.sh``
    Run once, when Gradescope builds the autograder's image: installs
    Python and a compiler (``apt-get``), then this normrnn, from the source
    archive in the bundle, into a virtual environment
    (``/autograder/normrnn-venv``).
``run_autograder``
    Run for every submission: grades ``/autograder/submission`` as
    ``normrnn exercise grade`` grades one student (:func:`grade_submission`)
    and writes ``/autograder/results/results.json``.
``normrnn_autograder.json``
    The seed of the cases (the hidden cases: students never see it) and the
    time limit.
``normrnn-<version>.tar.gz``
    The source archive, built with setuptools from the source tree this
    normrnn runs from; an installation without its source tree (from a
    wheel) cannot build one, and needs ``--sdist`` instead.

``NORMRNN_AUTOGRADER_ROOT`` stands for ``/autograder`` and
``NORMRNN_AUTOGRADER_PYTHON`` for the environment's Python, so that the bundle
can be tried on a folder laid out as Gradescope lays it out.
"""

import io
import json
import secrets
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .class_reports import gradescope, write_atomically
from .classroom import (GRADE_SECONDS, _PACKAGE_ROOT, ClassError, _positive, _seed,
                        check_options, display_name, grade_student)

__all__ = ["SETTINGS", "configure", "source_archive", "bundle", "build", "grade_submission"]

#: The bundle's settings file: the seed of the cases and the time limit.
SETTINGS = "normrnn_autograder.json"

_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder: install normrnn
# from the source archive beside this script, into a virtual environment.
set -eu
root="${{NORMRNN_AUTOGRADER_ROOT:-/autograder}}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${{NORMRNN_AUTOGRADER_NO_APT:-}}" ] && command -v apt-get >/dev/null; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential
fi
python3 -m venv "$root/normrnn-venv"
"$root/normrnn-venv/bin/python" -m pip install --upgrade pip
"$root/normrnn-venv/bin/python" -m pip install "$here/{sdist}"
"$root/normrnn-venv/bin/python" -I -c "import normrnn.exercises.classroom"
"""

_RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission with
# normrnn (each student in a process of its own, each exercise in a child of
# that) on the cases of the seed in source/{settings}, and write
# /autograder/results/results.json.
set -eu
root="${{NORMRNN_AUTOGRADER_ROOT:-/autograder}}"
python="${{NORMRNN_AUTOGRADER_PYTHON:-$root/normrnn-venv/bin/python}}"
cd "$root"
exec "$python" -I -c 'import sys; from normrnn.exercises.autograder import grade_submission; \
sys.exit(grade_submission(sys.argv[1]))' "$root"
"""

_SDIST = "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])"


def source_archive(into):
    """Build normrnn's source archive (sdist) into the folder ``into``; its path.

    Parameters
    ----------
    into : Path

    Returns
    -------
    Path

    Raises
    ------
    ClassError
        This normrnn has no source tree (it was installed from a wheel), or
        the build failed.
    """
    root = Path(_PACKAGE_ROOT)
    pyproject = root / "pyproject.toml"
    if not ((root / "setup.py").is_file() and (root / "MANIFEST.in").is_file()
            and pyproject.is_file() and 'name = "normrnn"' in pyproject.read_text()):
        raise ClassError(f"this normrnn ({root}) has no source tree to build the bundle's "
                         "source archive from: run the command from a clone (pip install -e), "
                         "or pass --sdist normrnn-<version>.tar.gz")
    done = subprocess.run([sys.executable, "-c", _SDIST, str(into)], cwd=root,
                          capture_output=True, text=True, timeout=900)
    archives = sorted(Path(into).glob("normrnn-*.tar.gz"))
    if done.returncode or not archives:
        last = (done.stderr.strip().splitlines() or ["no archive"])[-1]
        raise ClassError(f"building normrnn's source archive in {root} failed: {last}")
    return archives[0]


def bundle(sdist, *, seed, timeout=GRADE_SECONDS, options=()):
    """The bundle's files: name -> (bytes, mode).

    Parameters
    ----------
    sdist : Path
        normrnn's source archive.
    seed : int
        Seed of the cases.
    timeout : float, optional
        Wall-clock seconds for one submission.
    options : sequence of str, optional
        More options for ``normrnn exercise check``.

    Returns
    -------
    dict
    """
    settings = {"seed": seed, "timeout": timeout, "options": list(options)}
    return {"setup.sh": (_SETUP.format(sdist=sdist.name).encode(), 0o755),
            "run_autograder": (_RUN.format(settings=SETTINGS).encode(), 0o755),
            SETTINGS: ((json.dumps(settings, indent=2) + "\n").encode(), 0o644),
            sdist.name: (sdist.read_bytes(), 0o644)}


def build(out, *, seed, timeout=GRADE_SECONDS, sdist=None, options=()):
    """Write the Gradescope bundle to ``out`` (a zip).

    Parameters
    ----------
    out : Path
    seed : int
    timeout : float, optional
    sdist : Path, optional
        A source archive of normrnn to install; by default one is built from
        this normrnn's source tree (:func:`source_archive`).
    options : sequence of str, optional
        More options for ``normrnn exercise check``.

    Raises
    ------
    ClassError
        No source archive could be had, or ``out`` cannot be written.
    """
    out = Path(out)
    if out.is_dir():
        raise ClassError(f"--out {display_name(str(out))} is a folder; give the zip's path")
    if sdist is not None and not (Path(sdist).is_file() and Path(sdist).name.endswith(".tar.gz")):
        raise ClassError(f"--sdist {display_name(str(sdist))} is not a .tar.gz file")
    with tempfile.TemporaryDirectory() as scratch:
        sdist = Path(sdist) if sdist is not None else source_archive(Path(scratch))
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
            files = bundle(sdist, seed=seed, timeout=timeout, options=options)
            for name, (content, mode) in files.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content)
    try:
        write_atomically(out.resolve(), data.getvalue())
    except OSError as exc:
        raise ClassError(f"cannot write {display_name(str(out))}: {exc.strerror or exc}") from None


def grade_submission(root="/autograder"):
    """Grade ``ROOT/submission``; write ``ROOT/results/results.json``; return 0.

    What ``run_autograder`` runs.  The submission is graded as
    ``normrnn exercise grade`` grades one student, on the seed and time limit
    of ``ROOT/source/normrnn_autograder.json``.

    Parameters
    ----------
    root : str or Path, optional
        Gradescope's ``/autograder``.

    Returns
    -------
    int
        0 when ``results.json`` was written, whatever the grade; 1 when the
        grader itself failed (``results.json`` says so too).
    """
    root = Path(root)
    settings = json.loads((root / "source" / SETTINGS).read_text())
    student = grade_student(root / "submission", seed=int(settings["seed"]),
                            timeout=float(settings["timeout"]),
                            options=[str(o) for o in settings.get("options", [])])
    (root / "results").mkdir(exist_ok=True)
    result = gradescope(student)
    write_atomically(root / "results" / "results.json",
                     (json.dumps(result, indent=2) + "\n").encode())
    print(f"{student.passed} of {len(student.grades)} exercises passed; score "
          f"{result['score']:g}/{result['max_score']:g}")
    if student.grader_fault:
        print(f"normrnn: error: {student.problem}", file=sys.stderr)
        return 1
    return 0


# --- the command line ----------------------------------------------------------------

def configure(sub):
    """Add ``autograder`` to the ``exercise`` actions ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
    """
    parser = sub.add_parser(
        "autograder", help="build the bundle Gradescope grades submissions with",
        description="Write a zip for Gradescope: setup.sh (installs this normrnn from a "
        "source archive in the zip), run_autograder (grades /autograder/submission, writes "
        "/autograder/results/results.json) and the seed of the hidden cases.")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), metavar="ZIP",
                        help="the bundle to write (default: autograder.zip)")
    parser.add_argument("--seed", type=_seed, default=None, metavar="N",
                        help="seed of the cases the students do not see (default: drawn "
                        "at random, and printed)")
    parser.add_argument("--timeout", type=_positive, default=GRADE_SECONDS, metavar="SECONDS",
                        help=f"wall-clock limit for one submission (default: {GRADE_SECONDS:g})")
    parser.add_argument("--sdist", type=Path, default=None, metavar="FILE",
                        help="normrnn's source archive to put in the bundle (default: built "
                        "from this normrnn's source tree)")
    parser.add_argument("--forbid-package-answers", action="store_true",
                        help="fail an exercise whose code imports the package's own answers")
    parser.set_defaults(action_run=_autograder_command)


def _autograder_command(args):
    seed = secrets.randbelow(2 ** 31) if args.seed is None else args.seed
    try:
        build(args.out, seed=seed, timeout=args.timeout, sdist=args.sdist,
              options=check_options(args))
    except ClassError as exc:
        print(f"normrnn: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: upload it as the Gradescope autograder (seed of the hidden "
          f"cases: {seed}; reproduce a grade with `normrnn exercise grade ... --seed {seed}`)")
    return 0
