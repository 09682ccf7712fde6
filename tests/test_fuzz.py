"""Run the property-based fuzzing in a subprocess, so that a crash fails a test.

An in-process segfault would kill pytest itself and report nothing useful; a
child process that dies by a signal gives a negative return code here.
"""

import pathlib
import subprocess
import sys

import pytest

FUZZ = pathlib.Path(__file__).parent / "fuzz"


@pytest.mark.parametrize("module", sorted(p.name for p in FUZZ.glob("fuzz_*.py")))
def test_fuzzing_in_a_subprocess(module):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(FUZZ / module)],
        capture_output=True, text=True, timeout=600, cwd=FUZZ.parent)
    assert run.returncode >= 0, f"fuzzing crashed (signal {-run.returncode}):\n{run.stdout[-3000:]}"
    assert run.returncode == 0, run.stdout[-5000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
