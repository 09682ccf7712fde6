"""The exercise notebooks (tutorials/exercises/) and the files ``normrnn exercise start`` writes agree.

The two are the same exercise in two forms, a gallery notebook and a file
for the command line; :data:`normrnn.exercises.skeletons.SKELETONS` is their
one source.  A notebook repeats its skeleton's signature, docstring and hint
because a notebook must be readable as it is; this test keeps the copies
equal, so that a change to one that forgets the other fails here.  Every
notebook also ends with the same grading cell, so that it runs on its own
once downloaded; this test keeps those equal too.
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

#: The code of the grading cell that ends every notebook.
GRADING_CELL = """
# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("{name}", {function})
print(result.report())
plot_grade(result)
plt.show()
"""


def _words(text):
    """``text`` with every run of white space made one space: wrapping may differ."""
    return " ".join(text.split())


def _notebook_text(name):
    """The text of the notebook of exercise ``name`` (exactly one per exercise)."""
    pattern = re.compile(rf"plot_\d+_{name}(_section)?\.py")
    paths = [p for p in sorted(NOTEBOOKS.glob("plot_*.py")) if pattern.fullmatch(p.name)]
    assert len(paths) == 1, f"one notebook for {name!r} in {NOTEBOOKS}, found {paths}"
    return paths[0].read_text(encoding="utf-8")


def _notebook(name):
    """The parsed notebook of exercise ``name``."""
    return ast.parse(_notebook_text(name))


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
    assert [a.arg for a in function.args.args] == [a.strip() for a in args.split(",") if a]
    expected = f"{what}\n\nParameters\n----------\n{shapes}"
    assert ast.get_docstring(function) == textwrap.dedent(expected).strip()
    body = function.body[-1]                       # the blank: raise NotImplementedError(...)
    assert isinstance(body, ast.Raise) and body.exc.func.id == "NotImplementedError"
    assert f"Hint: {_words(hint)}" in _words(ast.get_docstring(module))


@pytest.mark.parametrize("name", EXERCISES)
def test_notebook_ends_with_the_grading_cell(name):
    cell = GRADING_CELL.format(name=name, function=function_name(name))
    # after a blank line, so that sphinx-gallery keeps the comment as code, not text
    assert _notebook_text(name).endswith("\n" + cell)
