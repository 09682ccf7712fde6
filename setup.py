"""Build the Cython kernels.

Compiler directives and flags are set once, in ``normrnn/_kernels/build_config.py``.
``NORMRNN_DEBUG=1`` builds a bounds-checked debug version (boundscheck,
wraparound and initializedcheck on, no ``-O3``), which the CI runs the whole
test suite against once::

    NORMRNN_DEBUG=1 python setup.py build_ext --inplace --force

The debug build generates its C in ``build/debug/``, apart from the optimised
C next to the ``.pyx`` files: each build finds its own C up to date, and
neither is ever compiled from the other's.
"""
import importlib.util
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "normrnn", "_kernels")


def _load(name):
    """normrnn/_kernels/NAME.py, read by its path: normrnn is not built yet."""
    spec = importlib.util.spec_from_file_location(f"_normrnn_{name}", os.path.join(_HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the compiler directives and flags (the Cython exercise track uses them too)
build_config = _load("build_config")

DEBUG = build_config.debug_requested()

#: the compiled modules, normrnn/_kernels/NAME.pyx each, listed once in
#: normrnn/_kernels/modules.py
KERNELS = _load("modules").MODULES

extensions = [
    Extension(
        f"normrnn._kernels.{name}",
        [f"normrnn/_kernels/{name}.pyx"],
        include_dirs=[numpy.get_include(), "normrnn/_kernels"],     # matvec.h
        depends=["normrnn/_kernels/matvec.h", "normrnn/_kernels/rows_matmul.h",
                 "normrnn/_kernels/pointwise.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=build_config.compile_args(DEBUG),
    )
    for name in KERNELS
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=build_config.directives(DEBUG),
        annotate=bool(os.environ.get("NORMRNN_ANNOTATE")),
        build_dir="build/debug" if DEBUG else None,
    )
)
