"""The catalogue of wrong answers: every one must fail through ``normrnn exercise check``.

``tests/wrong_answers/<exercise>/<name>.py`` holds one wrong answer each,
written as a learner writes it: a file outside the package with the
exercise's function.  Its docstring's first line says what is wrong; a line
``diagnosis: WORDS`` (or ``message: WORDS``) gives words the grade's
diagnosis (or message) must hold; ``alone: WHY`` grades it in a folder of its
own (it reaches into the grading process, or its verdict would depend on
what ran before it).

The entries are graded as a learner grades them, by the command line, a
folder per run holding at most one answer per exercise.
"""

import ast
import inspect
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from exercise_solutions import SOLUTIONS

from normrnn import reference
from normrnn.exercises import EXERCISES
from normrnn.exercises.cases import BEYOND
from normrnn.exercises.grading import function_name

HERE = Path(__file__).parent
CATALOGUE_DIR = HERE / "wrong_answers"
DOCS_PAGE = HERE.parent / "docs" / "exercises.rst"


@dataclass(frozen=True)
class WrongAnswer:
    """One entry of the catalogue.

    Attributes
    ----------
    exercise : str
    path : Path
    label : str
        What is wrong, in a few words.
    diagnosis : str
        Words the diagnosis must hold; ``""`` where no known mistake applies.
    message : str
        Words the grade's message must hold (a wrong shape, a wrong type).
    alone : bool
        Graded in a folder of its own.
    """

    exercise: str
    path: Path
    label: str
    diagnosis: str
    message: str
    alone: bool

    @property
    def id(self):
        """``<exercise>/<file name without .py>``."""
        return f"{self.exercise}/{self.path.stem}"


def _entry(exercise, path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    lines = doc.splitlines()
    fields = dict(re.findall(r"^(diagnosis|message|alone): *(.*)$", doc, flags=re.M))
    return WrongAnswer(exercise, path, lines[0] if lines else "", fields.get("diagnosis", ""),
                       fields.get("message", ""), "alone" in fields)


def read_catalogue():
    """Every wrong answer of ``tests/wrong_answers``, by exercise then file name.

    Returns
    -------
    list of WrongAnswer
    """
    return [_entry(folder.name, path)
            for folder in sorted(p for p in CATALOGUE_DIR.iterdir() if p.is_dir())
            for path in sorted(folder.glob("*.py"))]


CATALOGUE = read_catalogue()


def _batches(entries):
    """Folders to grade: at most one entry per exercise, an ``alone`` entry by itself."""
    batches = [[entry] for entry in entries if entry.alone]
    shared = []
    for entry in (e for e in entries if not e.alone):
        batch = next((b for b in shared if entry.exercise not in {e.exercise for e in b}), None)
        if batch is None:
            shared.append([entry])
        else:
            batch.append(entry)
    return batches + shared


def check_json(folder):
    """``normrnn exercise check FOLDER --json`` in a subprocess: (exit status, grades by name)."""
    done = subprocess.run([sys.executable, "-m", "normrnn", "exercise", "check", str(folder),
                           "--json"], capture_output=True, text=True, cwd=folder, timeout=900)
    assert done.stdout.strip(), done.stderr
    return done.returncode, {g["name"]: g for g in json.loads(done.stdout)}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """Entry id -> the JSON grade ``check`` gave it."""
    batches = _batches(CATALOGUE)
    folders = [tmp_path_factory.mktemp(f"batch{number}") for number in range(len(batches))]
    for folder, batch in zip(folders, batches):
        for entry in batch:
            (folder / f"{entry.exercise}.py").write_text(entry.path.read_text(encoding="utf-8"))
    found = {}
    with ThreadPoolExecutor(max_workers=2) as pool:       # the machine's two cores
        for batch, (status, grades) in zip(batches, pool.map(check_json, folders)):
            assert status in (0, 1), (status, grades)
            found.update({entry.id: grades[entry.exercise] for entry in batch})
    return found


@pytest.mark.parametrize("entry", [pytest.param(e, id=e.id) for e in CATALOGUE])
def test_every_wrong_answer_fails(entry, verdicts):
    grade = verdicts[entry.id]
    assert grade["status"] == "failed", (entry.label, grade)
    assert not grade["passed"]
    assert entry.diagnosis in grade["diagnosis"], (entry.label, grade["diagnosis"])
    assert entry.message in grade["message"], (entry.label, grade["message"])


def test_the_honest_answers_pass(tmp_path):
    for name, fn in SOLUTIONS.items():
        (tmp_path / f"{name}.py").write_text("import numpy as np\n\n\n" + inspect.getsource(fn))
    status, grades = check_json(tmp_path)
    assert sorted(grades) == sorted(EXERCISES)
    assert all(g["passed"] for g in grades.values()), grades
    assert status == 0


def _arguments(exercise):
    """The learner's function name and its arguments: the reference's, less its options."""
    name = function_name(exercise)
    right = BEYOND[exercise].solution if exercise in BEYOND else getattr(reference, name)
    parameters = inspect.signature(right).parameters.values()
    return name, [p.name for p in parameters if p.default is inspect.Parameter.empty]


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e.id for e in CATALOGUE])
def test_every_entry_is_a_learners_file(entry):
    tree = ast.parse(entry.path.read_text(encoding="utf-8"))
    name, arguments = _arguments(entry.exercise)
    functions = {node.name: [a.arg for a in node.args.args] for node in tree.body
                 if isinstance(node, ast.FunctionDef)}
    assert functions.get(name) == arguments, (entry.id, functions)
    assert entry.label, entry.id
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names]
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert all(module == "numpy" or "normrnn" in module and entry.alone
               for module in imported), (entry.id, imported)


def test_the_catalogue_covers_every_exercise():
    by_exercise = {name: [e for e in CATALOGUE if e.exercise == name] for name in EXERCISES}
    assert sorted({e.exercise for e in CATALOGUE}) == sorted(EXERCISES)
    assert all(len(entries) >= 5 for entries in by_exercise.values()), {
        k: len(v) for k, v in by_exercise.items()}
    assert len(CATALOGUE) >= 60


def test_the_docs_state_the_catalogues_size():
    text = " ".join(DOCS_PAGE.read_text(encoding="utf-8").split())
    stated = re.search(r"holds (\d+) wrong answers", text)
    assert stated, "docs/exercises.rst no longer states the catalogue's size"
    assert int(stated.group(1)) == len(CATALOGUE)
