"""The reports of a graded class: ``grades.csv``, ``junit.xml``, a ``results.json`` each.

* ``RESULTS/grades.csv``: a row per student and exercise (student, exercise,
  passed, score, cases passed, cases run, diagnosis, flags);
* ``RESULTS/junit.xml``: JUnit, a ``testsuite`` per student and a
  ``testcase`` per exercise, a failing exercise's ``failure`` carrying its
  diagnosis (an exercise the grader could not grade is an ``error``);
* ``RESULTS/<student>/results.json``: Gradescope's autograder format (score,
  max_score, a test per exercise with name, score, max_score, output,
  visibility).

An exercise is worth one point, shared among its cases (:func:`.classroom.score`).
Student folder names are untrusted: they are escaped wherever they are
printed (:func:`.classroom.display_name`), and sanitised into the names of
the folders written (:func:`path_name`).  Every file is written to a
temporary name beside it and then renamed, so a report is never half written,
and nothing is ever written inside SUBMISSIONS.
"""

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .classroom import ClassError, display_name, score

__all__ = ["Targets", "path_name", "prepare", "grades_csv", "junit_xml", "gradescope",
           "write"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# characters XML 1.0 cannot hold, even escaped
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# the files beside the students' folders
_RESERVED = ("", "grades.csv", "junit.xml")
# a cell a spreadsheet would read as a formula
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def path_name(name):
    """A safe folder name for student ``name``: ``[A-Za-z0-9._-]`` only, and unique.

    A name already safe is kept; any other is cleaned and given a short hash
    of the original, so two names never share a folder.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    clean = _UNSAFE.sub("_", name).lstrip(".")[:80]
    if clean == name and clean not in _RESERVED:
        return clean
    digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{clean or 'student'}-{digest}"


@dataclass
class Targets:
    """Where the reports go.

    Attributes
    ----------
    out : Path
    csv : Path
    junit : Path
    folders : dict
        Student folder name -> the folder of its ``results.json``.
    """

    out: Path
    csv: Path
    junit: Path
    folders: dict


def _inside(path, folder):
    return path == folder or folder in path.parents


def prepare(out, submissions, students):
    """Create ``out`` and check that every report can be written there.

    Parameters
    ----------
    out : Path
        The results folder.
    submissions : Path
        The class's folder: nothing may be written inside it.
    students : sequence of str
        The students' folder names.

    Returns
    -------
    Targets

    Raises
    ------
    ClassError
        ``out`` is inside ``submissions`` (or would write into it), or cannot
        be written.
    """
    shown = display_name(str(out))
    root = Path(submissions).resolve()
    if _inside(Path(out).resolve(), root):
        raise ClassError(f"--out {shown} is inside SUBMISSIONS: the grader never writes "
                         "there; choose a folder outside it")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ClassError(f"cannot write into --out {shown}: {exc.strerror or exc}") from None
    out = out.resolve()
    targets = Targets(out, out / "grades.csv", out / "junit.xml",
                      {s: out / path_name(s) for s in students})
    for path in [targets.csv, targets.junit, *targets.folders.values()]:
        if _inside(path.resolve(), root):
            raise ClassError(f"{display_name(str(path))} would be written inside SUBMISSIONS "
                             "(through a link or a student's name): choose another --out")
    return targets


def _text(value):
    """``value`` as text that XML, CSV and JSON files can all hold."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], str(value))


def _cell(value):
    text = _text(value)
    return "'" + text if text.startswith(_FORMULA) else text


def summary(grade):
    """One line: the message, the diagnosis, else the failed cases; ``""`` if none.

    Parameters
    ----------
    grade : dict

    Returns
    -------
    str
    """
    parts = [p for p in (grade["message"], grade["diagnosis"]) if p]
    if not parts and not grade["passed"] and grade["failed_cases"]:
        parts.append("fails in " + "; ".join(grade["failed_cases"]))
    return "; ".join(parts)


def grades_csv(students):
    """``grades.csv``'s text: a row per student and exercise.

    Parameters
    ----------
    students : sequence of StudentGrades

    Returns
    -------
    str
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "exercise", "passed", "score", "cases_passed", "cases_run",
                     "diagnosis", "flags"])
    for s in students:
        for g in s.grades:
            writer.writerow([_cell(display_name(s.student)), g["name"],
                             "yes" if g["passed"] else "no", f"{score(g):g}",
                             g["cases_passed"], g["cases_run"], _cell(summary(g)),
                             _cell("; ".join(g["flags"]))])
    return buffer.getvalue()


def _output(grade):
    """The text Gradescope shows under one exercise."""
    lines = [f"{grade['status']}: {grade['cases_passed']} of {grade['cases_run']} cases passed"]
    if grade["message"]:
        lines.append(grade["message"])
    if grade["diagnosis"]:
        lines.append(f"diagnosis: {grade['diagnosis']}")
    if grade["failed_cases"]:
        lines.append("failed cases: " + "; ".join(grade["failed_cases"]))
    if grade["flags"]:
        lines.append("flags: " + "; ".join(grade["flags"]))
    return _text("\n".join(lines))


def junit_xml(students):
    """``junit.xml``'s bytes: a testsuite per student, a testcase per exercise.

    Parameters
    ----------
    students : sequence of StudentGrades

    Returns
    -------
    bytes
    """
    root = ET.Element("testsuites", name="normrnn exercises")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for s in students:
        name = _text(display_name(s.student))
        failed = [g for g in s.grades if not g["passed"]]
        errors = len(failed) if s.grader_fault else 0
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(s.grades)),
                              failures=str(len(failed) - errors), errors=str(errors),
                              skipped="0", time=f"{s.seconds:.3f}", timestamp=stamp)
        for g in s.grades:
            case = ET.SubElement(suite, "testcase", classname=name, name=g["name"])
            if not g["passed"]:
                tag = "error" if s.grader_fault else "failure"
                ET.SubElement(case, tag, message=_text(summary(g) or g["status"]),
                              type=g["status"].replace(" ", "-")).text = _output(g)
        totals["tests"] += len(s.grades)
        totals["failures"] += len(failed) - errors
        totals["errors"] += errors
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def gradescope(student, *, visibility="visible"):
    """One student's ``results.json``, in Gradescope's autograder format.

    Parameters
    ----------
    student : StudentGrades
    visibility : str, optional
        Gradescope's visibility of each test.

    Returns
    -------
    dict
    """
    tests = [{"name": g["name"], "score": score(g), "max_score": 1.0,
              "status": "passed" if g["passed"] else "failed", "output": _output(g),
              "visibility": visibility} for g in student.grades]
    output = f"{student.passed} of {len(student.grades)} exercises passed"
    if student.problem:
        output += f"; {_text(student.problem)}"
    return {"score": student.score, "max_score": student.max_score,
            "execution_time": round(student.seconds, 3), "output": output,
            "visibility": visibility, "tests": tests}


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file beside it.

    Parameters
    ----------
    path : Path
    data : bytes
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _json_bytes(data):
    return (json.dumps(data, indent=2) + "\n").encode()


def write(targets, students):
    """Write the three reports for ``students`` to ``targets``.

    Parameters
    ----------
    targets : Targets
        From :func:`prepare`.
    students : sequence of StudentGrades
    """
    for s in students:
        folder = targets.folders[s.student]
        folder.mkdir(exist_ok=True)
        write_atomically(folder / "results.json", _json_bytes(gradescope(s)))
    write_atomically(targets.csv, grades_csv(students).encode())
    write_atomically(targets.junit, junit_xml(students))
