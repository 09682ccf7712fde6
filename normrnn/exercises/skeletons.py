"""The files ``normrnn exercise start`` writes: one blank function per exercise.

Each skeleton has the signature of its reference twin, a docstring with the
shapes and a hint for the derivation, a link to the section's docs page, and
a body that raises ``NotImplementedError``.  A pytest file comes with them.

The exercise notebooks of the docs are made from the same text
(:func:`notebook`) when the docs are built: the blank function with its
signature and docstring, the hint, and a cell that grades it, so that a
downloaded notebook runs on its own.

The links are ``<docs>/sections/<name>.html`` (``<docs>/bptt.html`` for the
whole document), written into each skeleton as data (a string literal made
by ``repr``, never pasted into source), so that no base can break or inject
code.  ``<docs>`` is, in this order (see :func:`docs_base`): the
``--docs-url`` given to ``normrnn exercise start``; the environment variable
``NORMRNN_DOCS_URL``; a build of the documentation found next to the
package's source tree or in the current folder (``docs/_build/html``), as a
``file://`` URL; else :data:`UNBUILT_DOCS`, the place inside a source
checkout where ``python -m sphinx docs docs/_build/html`` puts the docs.
``start`` says which.
"""

import os
import textwrap
from dataclasses import astuple
from pathlib import Path

from .. import reference
from ..section_registry import SECTIONS
from .cases import BEYOND, EXERCISES
from .grading import function_name

__all__ = ["SKELETONS", "TEST_FILE", "UNBUILT_DOCS", "built_docs", "docs_base",
           "docs_url", "skeleton", "test_file", "notebook", "notebook_name"]

#: Where the skeletons' links point when no base is given and no docs build is
#: found: the folder of a normrnn source checkout that the docs build writes.
UNBUILT_DOCS = "docs/_build/html"

#: Where a docs build lies inside a source tree.
BUILD = Path("docs", "_build", "html")

#: Exercise -> (arguments, docs page, title, what to compute, shapes, hint): a
#: section's from its record, the others' from theirs (:data:`.cases.BEYOND`).
SKELETONS = {
    **{s.name: (", ".join(s.inputs), s.docs_page, *astuple(s.skeleton)) for s in SECTIONS},
    **{name: exercise.skeleton for name, exercise in BEYOND.items()},
}


def _build_roots():
    """Where a docs build may lie: the package's source tree, then the current folder."""
    return [Path(__file__).resolve().parents[2] / BUILD, Path.cwd() / BUILD]


def built_docs():
    """The folder of a docs build, if one can be found; else None.

    Looked for next to the package's source tree (a clone or an editable
    install: ``<tree>/docs/_build/html``), then in the current folder.  A
    folder counts when it holds ``bptt.html`` and ``sections/``.

    Returns
    -------
    Path or None
    """
    for root in _build_roots():
        if (root / "bptt.html").is_file() and (root / "sections").is_dir():
            return root.resolve()
    return None


def docs_base(base=None):
    """The base of the docs links, and where it came from.

    Parameters
    ----------
    base : str, optional
        A base given by the learner (``--docs-url``); it wins.

    Returns
    -------
    base : str
    source : str
        Where ``base`` came from, as ``normrnn exercise start`` says it.
    """
    if base:
        return base, "given with --docs-url"
    if os.environ.get("NORMRNN_DOCS_URL"):
        return os.environ["NORMRNN_DOCS_URL"], "from NORMRNN_DOCS_URL"
    built = built_docs()
    if built is not None:
        return built.as_uri(), "the docs built in this source tree"
    return UNBUILT_DOCS, ("no docs build found: the links name pages of a normrnn source "
                          "checkout's docs build (python -m sphinx docs docs/_build/html); "
                          "pass --docs-url or set NORMRNN_DOCS_URL to point them at one")


def docs_url(page, base=None):
    """The URL (or path) of the docs page ``page``, e.g. ``sections/hh``.

    Parameters
    ----------
    page : str
    base : str, optional
        Default: :func:`docs_base`'s choice.

    Returns
    -------
    str
    """
    base, _ = docs_base(base)
    return f"{base.rstrip('/').rstrip(chr(92))}/{page}.html"


def skeleton(name, docs=None):
    """The text of exercise ``name``'s skeleton module.

    Parameters
    ----------
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.
    docs : str, optional
        Base of the docs links (see :func:`docs_url`).

    Returns
    -------
    str
    """
    args, page, title, what, shapes, hint = SKELETONS[name]
    fn = function_name(name)
    imports = "import numpy as np\n"
    doc = textwrap.indent(f"{what}\n\nParameters\n----------\n{shapes}\n\nHint\n----\n"
                          + textwrap.fill(hint, 76) + "\n\nThe derivation, step by step: "
                          f"the page \"{title}\", DOCS above.", "    ")
    # The link is data: repr makes a literal of any string, quotes and backslashes included.
    link = f"#: The derivation, step by step: \"{title}\".\nDOCS = {docs_url(page, docs)!r}\n"
    return (f'"""Exercise: {title}.\n\nWrite {fn} below, then grade it:\n\n'
            f'    normrnn exercise check . --section {name}\n"""\n\n{imports}\n{link}\n\n'
            f'def {fn}({args}):\n    """{doc.lstrip()}\n    """\n'
            f'    raise NotImplementedError("{fn}: your derivation goes here")\n')


def test_file():
    """The text of the pytest file that grades every exercise of its folder.

    Returns
    -------
    str
    """
    tests = "\n\n".join(
        f"def test_{name}():\n"
        f"    assert_gradient(\"{name}\", load_solution(HERE, \"{name}\"))"
        for name in EXERCISES)
    return f'''"""Grade every exercise of this folder: python -m pytest {TEST_FILE}

Each test fails with the grader's report: the errors of each output, and the
mistake when it matches a known one.
"""

from pathlib import Path

from normrnn.exercises.pytest_api import assert_gradient, load_solution

HERE = Path(__file__).parent


{tests}
'''


#: The name of the pytest file written beside the skeletons.
TEST_FILE = "test_exercises.py"


def notebook_name(name):
    """The file name of exercise ``name``'s notebook, ``plot_<nn>_<name>.py``, nn its place.

    Two digits, so that the gallery, which sorts by file name, keeps the order
    of :data:`~normrnn.exercises.EXERCISES`: the sections, the whole document,
    the padded batch, the proofs.

    Parameters
    ----------
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.

    Returns
    -------
    str
    """
    return f"plot_{EXERCISES.index(name) + 1:02d}_{name}.py"


#: What the grading cell does, for an exercise with a reference twin.
_GRADING_TWIN = """\
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake when your answer matches
# a known wrong one computed on the same inputs.  Stuck?
# ``normrnn exercise solution {name}`` prints the reference."""

#: What the grading cell does, for a proof (its answer has no reference twin).
_GRADING_OTHER = """\
# ``grade`` calls your function on several seeded cases that differ in
# structure, checks that it leaves its inputs alone, measures each output
# against answers computed in the grading process, and names the mistake
# when your answer matches a known wrong one, or says what it measured.
# Stuck?  ``normrnn exercise solution {name}`` prints a right answer."""


def notebook(name):
    """The text of exercise ``name``'s notebook: a sphinx-gallery script.

    Its blank cell is the skeleton's function (signature and docstring, the
    hint above it); its grading cell grades that function and plots the
    grade.  The docs build writes one per exercise into
    ``tutorials/exercises/``.

    Parameters
    ----------
    name : str
        One of :data:`normrnn.exercises.EXERCISES`.

    Returns
    -------
    str
    """
    args, page, title, what, shapes, hint = SKELETONS[name]
    fn = function_name(name)
    twin = fn in reference.__all__       # a proof's answer has no reference twin
    heading = f"Exercise {EXERCISES.index(name) + 1}: {title}"
    asked = (f"The derivation is on :doc:`/{page}`; try it on paper first" if twin else
             f"The question is stated on :doc:`/{page}`; work it out on paper first")
    intro = textwrap.fill(f"{what}  {asked}, then write ``{fn}`` in the blank cell and run "
                          "the grading cell.", 88)
    called = (f"exactly as the reference twin :func:`normrnn.reference.{fn}` is\n# called"
              if twin else "with the arguments\n# below")
    blank = "your derivation goes here" if twin else "your answer goes here"
    grading = _GRADING_TWIN if twin else _GRADING_OTHER
    doc = textwrap.indent(f"{what}\n\nParameters\n----------\n{shapes}", "    ")
    return f'''"""
{heading}
{"=" * len(heading)}

{intro}

{textwrap.fill("Hint: " + hint, 88)}
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``{fn}`` {called}.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def {fn}({args}):
    """{doc.lstrip()}
    """
    raise NotImplementedError("{fn}: {blank}")


# %%
# The grading cell
# ----------------
{grading.format(name=name)}

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("{name}", {fn})
print(result.report())
plot_grade(result)
plt.show()
'''
