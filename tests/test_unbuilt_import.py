"""Importing normrnn from a source tree whose kernels were never compiled."""

import os
import shutil
import subprocess
import sys

import normrnn

from normrnn._kernels import _missing_extensions


def _copy_sources(destination):
    """Copy the normrnn package without any compiled file into ``destination``."""
    source = os.path.dirname(normrnn.__file__)
    ignore = shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__")
    shutil.copytree(source, os.path.join(destination, "normrnn"), ignore=ignore)


def test_unbuilt_source_tree_says_what_to_do(tmp_path):
    _copy_sources(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", "import normrnn"], cwd=tmp_path,
                          env=env, capture_output=True, text=True)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: normrnn was imported from the source tree")
    assert str(tmp_path) in last
    assert "python setup.py build_ext --inplace" in last
    assert "section_kernels, bptt_by_section, bptt_gathered" in last


def test_built_tree_misses_nothing():
    assert _missing_extensions() == []
