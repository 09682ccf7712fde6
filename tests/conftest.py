"""Shared fixtures: small models of odd sizes, so no bug hides behind V == H."""

import os
import platform
import shutil
import signal

import pytest
from helpers import make_model


@pytest.fixture
def model():
    return make_model()


# An unexpected error inside an in-process ``cli.main`` call re-raises (with its
# traceback) instead of being reduced to one line by the command's safety net:
# the net must never hide a bug from the tests.  Subprocesses inherit it too;
# tests of the net itself remove it.
os.environ["NORMRNN_TRACEBACK"] = "1"

# The Ctrl-C tests send SIGINT to child processes, which inherit this
# process's signal dispositions.  Started in the background without job
# control (``nohup``, ``cmd &`` in a script), a process ignores SIGINT, and so
# would every child: they would never see the Ctrl-C the tests send.  A
# handler (unlike SIG_IGN) is reset to the default at exec, so the children
# start as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_report_header(config):
    """Which instruction set the kernels run here, and which of them this run cannot test."""
    try:
        from normrnn import kernel_choice
        runs = kernel_choice.available()
    except Exception as error:                       # an unbuilt tree: its own tests say so
        return f"normrnn kernels: not inspected ({type(error).__name__})"
    lines = [f"normrnn kernels: CPU level {runs['vector_level']}; tested here: "
             f"{', '.join(runs['rows'] + runs['matvec'])}"]
    limit = kernel_choice.level_limit()
    if runs["cpu_level"] in (1, 3) and limit:
        lines.append(f"normrnn kernels: {kernel_choice.LEVEL_VARIABLE}={limit} keeps them at "
                     f"{runs['vector_level']}: the kernels above it are NOT tested here")
    elif runs["cpu_level"] in (1, 3):
        lines.append("normrnn kernels: this CPU lacks AVX-512 (avx512f/vl/bw/dq/cd): the "
                     "x86-64-v4 kernels are NOT tested here" + (
                         "; nor the x86-64-v3 ones (no avx2/fma)" if runs["cpu_level"] == 1
                         else ""))
    return lines


@pytest.fixture(scope="module")
def compiler():
    """A C compiler on x86-64, for the tests that build a header for one -march."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or platform.machine() != "x86_64":
        pytest.skip("needs a C compiler on x86-64")
    return compiler
