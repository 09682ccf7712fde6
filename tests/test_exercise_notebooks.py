"""The exercise notebooks (tutorials/exercises/) and the files ``normrnn exercise start`` writes agree.

The two are the same exercise in two forms, a gallery notebook and a file
for the command line; :data:`normrnn.exercises.skeletons.SKELETONS` is their
one source.  A notebook repeats its skeleton's signature, docstring and hint
because a notebook must be readable as it is; this test keeps the copies
equal, so that a change to one that forgets the other fails here.
"""

import ast
import re
import textwrap
from pathlib import Path

import pytest

from normrnn.exercises import EXERCISES
from normrnn.exercises.grading import function_name
from normrnn.exercises.skeletons import SKELETONS

NOTEBOOKS = Path(__file__).resolve().parent.parent / "tutorials" / "exercises"


def _words(text):
    """``text`` with every run of white space made one space: wrapping may differ."""
    return " ".join(text.split())


def _notebook(name):
    """The parsed notebook of exercise ``name`` (exactly one per exercise)."""
    pattern = re.compile(rf"plot_\d+_{name}(_section)?\.py")
    paths = [p for p in sorted(NOTEBOOKS.glob("plot_*.py")) if pattern.fullmatch(p.name)]
    assert len(paths) == 1, f"one notebook for {name!r} in {NOTEBOOKS}, found {paths}"
    return ast.parse(paths[0].read_text(encoding="utf-8"))


def test_every_exercise_has_a_notebook_and_no_more():
    notebooks = sorted(NOTEBOOKS.glob("plot_*.py"))
    assert len(notebooks) == len(EXERCISES)
    for name in EXERCISES:
        _notebook(name)


@pytest.mark.parametrize("name", EXERCISES)
def test_notebook_blank_cell_is_the_skeleton(name):
    args, _page, _title, what, shapes, hint = SKELETONS[name]
    module = _notebook(name)
    functions = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
    function = functions[function_name(name)]
    assert [a.arg for a in function.args.args] == [a.strip() for a in args.split(",")]
    expected = f"{what}\n\nParameters\n----------\n{shapes}"
    assert ast.get_docstring(function) == textwrap.dedent(expected).strip()
    body = function.body[-1]                       # the blank: raise NotImplementedError(...)
    assert isinstance(body, ast.Raise) and body.exc.func.id == "NotImplementedError"
    assert f"Hint: {_words(hint)}" in _words(ast.get_docstring(module))
