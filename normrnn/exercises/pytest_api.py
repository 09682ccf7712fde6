"""The grader's pytest API: assertions for gradients, the way :mod:`numpy.testing` is used.

A student's test file reads::

    from normrnn.exercises.pytest_api import assert_gradient

    def test_hh():
        assert_gradient("hh", my_hh_backward)

and fails with the grader's report: each output's error against finite
differences and the reference, and the mistake when it matches a known one.

A function from :func:`load_solution` is graded in a child process
(:func:`normrnn.exercises.isolated.grade_file`), so the learner's module is
never imported into the test run and cannot reach the verdict; any other
function is graded in this process (:func:`normrnn.exercises.grade`).
"""

from pathlib import Path

from .grading import function_name, grade
from .guard import Failure
from .isolated import grade_file
from .loader import load_solution as _load
from .loader import solution_path

__all__ = ["assert_gradient", "load_solution"]


def assert_gradient(name, fn, **kw):
    """Grade ``fn`` as exercise ``name``; raise ``AssertionError`` unless it passes.

    Parameters
    ----------
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.
    fn : callable
        The function under test.
    **kw
        Passed to :func:`normrnn.exercises.grade` or, for a :class:`Solution`,
        :func:`normrnn.exercises.isolated.grade_file` (``seed``, ``dtype``,
        ``timeout``).

    Raises
    ------
    AssertionError
        The message is :meth:`normrnn.exercises.Grade.report`: the table of
        errors, and the diagnosis.
    """
    if isinstance(fn, Solution):
        if fn.name != name:
            raise ValueError(f"the solution loaded is {fn.name!r}, not {name!r}")
        result = grade_file(fn.folder, name, **kw)
    else:
        result = grade(name, fn, **kw)
    if not result.passed:
        raise AssertionError("\n" + result.report())


class Solution:
    """A learner's exercise file, not imported: :func:`assert_gradient` grades it in a
    child process.  Calling it imports the file here and calls the function.

    Attributes
    ----------
    folder : Path
    name : str
    """

    def __init__(self, folder, name):
        self.folder, self.name = Path(folder).resolve(), name

    def __call__(self, *args):
        try:
            function = _load(self.folder, self.name)
        except Failure as failure:
            raise AssertionError(f"{self.name}: {failure}") from None
        return function(*args)

    def __repr__(self):
        return f"Solution({str(self.folder)!r}, {self.name!r})"


def load_solution(folder, name):
    """Exercise ``name`` of ``folder/<name>.py``, for a test file.

    Parameters
    ----------
    folder : str or Path
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.

    Returns
    -------
    Solution
        Graded in a child process by :func:`assert_gradient`; callable.

    Raises
    ------
    AssertionError
        The file is missing (so the test fails with that sentence).
    """
    path = solution_path(Path(folder).resolve(), name)
    if not path.is_file():
        raise AssertionError(f"{name}: no file {path} ({function_name(name)} not started)")
    return Solution(folder, name)
