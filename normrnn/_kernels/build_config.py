"""How the Cython kernels are built: the compiler directives and flags, set once here.

``setup.py`` builds with them, the docs' annotated Cython
(``docs/_ext/normrnn_docs.py``) is generated with the same directives, and
the Cython exercise track (``normrnn exercise check``) compiles a learner's
kernel with them: the module ships inside the package, so an installed wheel
has it too.
``NORMRNN_DEBUG=1`` selects the bounds-checked debug build: boundscheck,
wraparound, initializedcheck and nonecheck on, ``cdivision`` off, ``-O0 -g``
instead of ``-O3``.  This module imports only :mod:`os`, so ``setup.py`` loads it by its path
under build isolation, before :mod:`normrnn` is built.
"""

import os

__all__ = ["debug_requested", "directives", "compile_args", "openmp_args"]


def debug_requested(environ=os.environ):
    """Whether ``NORMRNN_DEBUG`` asks for the debug build (set, and not "" or "0")."""
    return environ.get("NORMRNN_DEBUG", "0") not in ("", "0")


def directives(debug=False):
    """The Cython compiler directives of the release (or the ``debug``) build."""
    return {
        "language_level": "3",
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": not debug,
        "nonecheck": debug,
        "binding": True,
        "embedsignature": True,
        "embedsignature.format": "python",
        "cpow": True,
    }


def compile_args(debug=False):
    """The C compiler's flags."""
    return ["-O0", "-g"] if debug else ["-O3"]


def openmp_args():
    """The C compiler's and linker's flags for OpenMP (``prange``).

    The package's own kernels do not use OpenMP; the exercise track's
    thread-safe reduction (``normrnn exercise start --cython``) does.
    """
    return ["-fopenmp"]
