"""Build the Cython kernels.

Compiler directives are set once, here.  ``NORMRNN_DEBUG=1`` builds a
bounds-checked debug version (boundscheck, wraparound and initializedcheck on,
no ``-O3``), which the CI runs the whole test suite against once::

    NORMRNN_DEBUG=1 python setup.py build_ext --inplace --force

The debug build generates its C in ``build/debug/``, apart from the optimised
C next to the ``.pyx`` files: each build finds its own C up to date, and
neither is ever compiled from the other's.
"""
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("NORMRNN_DEBUG", "0") not in ("", "0")

directives = {
    "language_level": "3",
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "nonecheck": DEBUG,
    "binding": True,
    "embedsignature": True,
    "embedsignature.format": "python",
    "cpow": True,
}

compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]

extensions = [
    Extension(
        f"normrnn._kernels.{name}",
        [f"normrnn/_kernels/{name}.pyx"],
        include_dirs=[numpy.get_include(), "normrnn/_kernels"],     # matvec.h
        depends=["normrnn/_kernels/matvec.h", "normrnn/_kernels/rows_matmul.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
    )
    for name in ("sections", "bptt_sections", "bptt", "lockstep", "_testing")
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        compile_time_env={"NORMRNN_DEBUG": DEBUG},
        annotate=bool(os.environ.get("NORMRNN_ANNOTATE")),
        build_dir="build/debug" if DEBUG else None,
    )
)
