"""Assertions for grading gradients in pytest, the way :mod:`numpy.testing` is used.

A student's test file reads::

    from normrnn.testing import assert_gradient

    def test_hh():
        assert_gradient("hh", my_hh_backward)

and fails with the grader's report: each output's error against finite
differences and the reference, and the mistake when it matches a known one.
"""

from .exercises.grading import grade
from .exercises.guard import Failure
from .exercises.loader import load_solution as _load

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
        Passed to :func:`normrnn.exercises.grade` (``seed``, ``dtype``,
        ``timeout``).

    Raises
    ------
    AssertionError
        The message is :meth:`normrnn.exercises.Grade.report`: the table of
        errors, and the diagnosis.
    """
    result = grade(name, fn, **kw)
    if not result.passed:
        raise AssertionError("\n" + result.report())


def load_solution(folder, name):
    """The function of exercise ``name`` in ``folder/<name>.py``, for a test file.

    Parameters
    ----------
    folder : str or Path
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.

    Returns
    -------
    callable

    Raises
    ------
    AssertionError
        The file is missing, does not import, or lacks the function (so the
        test fails with that sentence, not a traceback into the file).
    """
    try:
        return _load(folder, name)
    except Failure as failure:
        raise AssertionError(f"{name}: {failure}") from None
