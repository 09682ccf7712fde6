"""The exercise notebooks of the docs, made from the skeletons ``normrnn exercise start`` writes.

The two are the same exercise in two forms, a gallery notebook and a file
for the command line, made from one text
(:data:`normrnn.exercises.skeletons.SKELETONS`): the docs build writes the
notebooks (:func:`normrnn.exercises.skeletons.notebook`) into
``tutorials/exercises/``.  Every notebook ends with the same grading cell, so
that it runs on its own once downloaded.
"""

import ast
import textwrap

import pytest

from normrnn.exercises import EXERCISES
from normrnn.exercises.grading import function_name
from normrnn.exercises.skeletons import SKELETONS, notebook, notebook_name

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


def test_one_notebook_per_exercise_each_with_its_own_file_name():
    names = [notebook_name(name) for name in EXERCISES]
    assert len(set(names)) == len(EXERCISES)
    assert all(n.startswith("plot_") and n.endswith(".py") for n in names)


@pytest.mark.parametrize("name", EXERCISES)
def test_notebook_blank_cell_is_the_skeleton(name):
    args, page, _title, what, shapes, hint = SKELETONS[name]
    module = ast.parse(notebook(name))
    functions = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
    function = functions[function_name(name)]
    assert [a.arg for a in function.args.args] == [a.strip() for a in args.split(",") if a]
    expected = f"{what}\n\nParameters\n----------\n{shapes}"
    assert ast.get_docstring(function) == textwrap.dedent(expected).strip()
    body = function.body[-1]                       # the blank: raise NotImplementedError(...)
    assert isinstance(body, ast.Raise) and body.exc.func.id == "NotImplementedError"
    assert f"Hint: {_words(hint)}" in _words(ast.get_docstring(module))
    assert f":doc:`/{page}`" in ast.get_docstring(module)


@pytest.mark.parametrize("name", EXERCISES)
def test_notebook_ends_with_the_grading_cell(name):
    cell = GRADING_CELL.format(name=name, function=function_name(name))
    # after a blank line, so that sphinx-gallery keeps the comment as code, not text
    assert notebook(name).endswith("\n" + cell)


def test_a_notebook_runs_on_its_own_and_grades_the_blank_as_not_started(monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    exec(compile(notebook("bias"), "plot_bias.py", "exec"), {"__name__": "__main__"})
    assert "not started" in capsys.readouterr().out
