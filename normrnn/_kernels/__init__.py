"""The compiled Cython kernels of normrnn.

The modules of this package (listed in ``modules.py``) are
extension modules: they exist only once the ``.pyx`` sources beside this file
have been compiled.  Importing the package checks that they have, so that a
source tree without its build fails with a message that says what to do,
rather than with ``cannot import name 'bptt_gathered'`` deep inside :mod:`normrnn`.
"""

import importlib.machinery
import os

from .modules import MODULES as _MODULES

_HERE = os.path.dirname(os.path.abspath(__file__))


def _missing_extensions(directory=_HERE):
    """The kernel modules that have a ``.pyx`` source but no compiled file in ``directory``.

    Parameters
    ----------
    directory : str
        The folder of the ``normrnn._kernels`` package being imported.

    Returns
    -------
    list of str
        Module names, in the order of ``_MODULES``; empty when all are built.
    """
    names = os.listdir(directory)
    missing = []
    for module in _MODULES:
        built = any(name.startswith(module + ".") and name.endswith(suffix)
                    for name in names
                    for suffix in importlib.machinery.EXTENSION_SUFFIXES)
        if not built:
            missing.append(module)
    return missing


def _not_built_message(directory, missing):
    """The ImportError text for a source tree whose kernels were never compiled."""
    package = os.path.dirname(os.path.dirname(directory))
    return (
        f"normrnn was imported from the source tree {package!r}, whose Cython kernels "
        f"are not compiled (no extension module for {', '.join(missing)}). "
        "Either build them in place, `python setup.py build_ext --inplace` "
        "(or install in editable mode, `pip install -e .`), or run Python from "
        "another directory so that the installed normrnn is imported instead of "
        "this folder.")


_missing = _missing_extensions()
if _missing:
    raise ImportError(_not_built_message(_HERE, _missing))
