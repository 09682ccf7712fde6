"""Load a learner's function from a file, failures turned into clear messages."""

import hashlib
import importlib.util
import sys
from pathlib import Path

from .._printable import show_path
from . import guard
from .grading import function_name

__all__ = ["solution_path", "load_solution"]


def solution_path(folder, name):
    """The file of exercise ``name`` in ``folder``: ``folder/<name>.py``."""
    return Path(folder) / f"{name}.py"


def load_solution(folder, name, *, timeout=10.0):
    """The function of exercise ``name`` from ``folder/<name>.py``.

    The file is imported under a name unique to its path, so that the same
    exercise from many folders (a class's submissions) can be loaded in one
    process.  The folder is put on ``sys.path`` while the file runs, so a
    solution may import the learner's other files.

    Parameters
    ----------
    folder : str or Path
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.
    timeout : float, optional
        Seconds the module's top-level code may run.

    Returns
    -------
    callable

    Raises
    ------
    normrnn.exercises.guard.Failure
        The file is missing, does not import, or lacks the function; the
        message says which.
    """
    path = solution_path(folder, name).resolve()
    fn = function_name(name)
    if not path.is_file():
        raise guard.Failure(f"no file {show_path(path)}")
    unique = "normrnn_solution_" + hashlib.sha1(str(path).encode()).hexdigest()[:12] + "_" + name
    spec = importlib.util.spec_from_file_location(unique, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        guard.call(spec.loader.exec_module, (module,), name=f"importing {path.name}",
                   timeout=timeout)
    except guard.NotStarted:
        raise guard.Failure(f"importing {path.name} raised NotImplementedError") from None
    finally:
        sys.path.remove(str(path.parent))
    function = getattr(module, fn, None)
    if not callable(function):
        raise guard.Failure(f"{path.name} defines no function {fn}")
    return function
