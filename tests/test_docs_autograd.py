"""The autograd tutorial is in every docs build: the docs extra installs a witness, JAX."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_IGNORED = """
import importlib.util, runpy, sys
present = set(sys.argv[1].split(",")) - {""}
real = importlib.util.find_spec


def find_spec(name, *args):
    if name in ("torch", "jax"):        # as if installed, or not, whatever this machine has
        return real("json") if name in present else None
    return real(name, *args)


importlib.util.find_spec = find_spec
conf = runpy.run_path(sys.argv[2])
print(conf["sphinx_gallery_conf"]["ignore_pattern"])
"""


def _ignore_pattern(present):
    """The gallery's ignore pattern when only the frameworks ``present`` are installed."""
    done = subprocess.run([sys.executable, "-c", _IGNORED, ",".join(present),
                           str(ROOT / "docs" / "conf.py")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT / "docs")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_docs_extra_installs_jax():
    tomllib = pytest.importorskip("tomllib")          # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("jax") for requirement in extras["docs"])


@pytest.mark.parametrize("present", [("torch", "jax"), ("jax",), ("torch",)])
def test_either_framework_builds_the_tutorial(present):
    assert "plot_8_autograd" not in _ignore_pattern(present)


def test_with_neither_the_tutorial_is_left_out():
    assert "plot_8_autograd" in _ignore_pattern(())


def test_the_exercises_page_links_to_the_tutorial():
    page = (ROOT / "docs" / "exercises.rst").read_text(encoding="utf-8")
    assert ":doc:`auto_tutorials/plot_8_autograd`" in page
