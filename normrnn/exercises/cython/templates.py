"""The ``.pyx`` files of the Cython track: a skeleton and a solution per section.

A skeleton is the package's own kernel with its body taken out: the same
``cdef ... noexcept nogil`` signature, the same ``const floating[:, ::1]``
inputs, the same IN / OUT / INOUT marks and docstring, then a line to
replace; after it, the package's ``def`` wrapper, which the grader calls.
Above them, the Python track's hint and docs link.  A solution is the
package's kernel itself, with the helpers it calls, so that it compiles on its
own in the learner's folder.
"""

import re
import textwrap

from ..skeletons import SKELETONS, docs_url
from .source import KERNELS, calls, functions, split_kernel
from .table import CYTHON

__all__ = ["NOT_STARTED", "HEADER", "skeleton", "solution", "file_name"]

#: The line of a skeleton's kernel that says the exercise is not started yet.
NOT_STARTED = "pass  # not started: replace this line with your loops"

#: What every section file cimports (an unused cimport costs nothing).
HEADER = "from cython cimport floating\nfrom libc.math cimport exp, expf, log, sqrt\n"


def file_name(name):
    """The file of exercise ``name`` in the learner's folder: ``<name>.pyx``."""
    return f"{name}.pyx"


def _source(file):
    return (KERNELS / file).read_text(encoding="utf-8")


def _preamble(name):
    """The imports the kernel's file needs: the sections' header, or the whole
    document's own (it cimports the section kernels)."""
    exercise = CYTHON[name]
    if exercise.source == "section_kernels.pyx":
        return HEADER
    text = _source(exercise.source)
    first = min(line for line, _ in functions(text).values())
    lines = text.splitlines()[:first - 1]
    body = "\n".join(lines)
    body = re.sub(r'^""".*?"""\n', "", body, flags=re.S)       # the module's docstring
    return body.strip() + "\n"


def _helpers(name, block, include_given=True):
    """The package's functions ``block`` calls, recursively, in their files' order."""
    exercise = CYTHON[name]
    if exercise.source != "section_kernels.pyx":
        return []
    pool = {**{k: v[1] for k, v in functions(_source("activation.pxd")).items()},
            **{k: v[1] for k, v in functions(_source("section_kernels.pyx")).items()
               if not k[0].isalpha() or k in ("f", "f_grad")}}
    wanted, todo = set(), [block]
    while todo:
        for n in calls(todo.pop(), list(pool)):
            if n not in wanted and n != exercise.kernel:
                wanted.add(n)
                todo.append(pool[n])
    if not include_given:
        wanted -= set(exercise.given)
    return [pool[n] for n in pool if n in wanted]


def _kernel_and_wrapper(name):
    exercise = CYTHON[name]
    found = functions(_source(exercise.source))
    return found[exercise.kernel][1], found[exercise.wrapper][1]


def _given(name):
    """The helpers the skeleton writes out (the activation and its derivative)."""
    found = functions(_source("activation.pxd"))
    return [found[n][1] for n in CYTHON[name].given]


def _comment(text, width=78):
    out = []
    for paragraph in text.split("\n\n"):
        out += textwrap.wrap(paragraph, width - 2) or [""]
        out.append("")
    return "\n".join(f"# {line}".rstrip() for line in out[:-1])


def skeleton(name, docs=None):
    """The text of section ``name``'s ``.pyx`` skeleton.

    Parameters
    ----------
    name : str
        A key of :data:`normrnn.exercises.cython.table.CYTHON`.
    docs : str, optional
        Base of the docs links (see :func:`normrnn.exercises.skeletons.docs_url`).

    Returns
    -------
    str
    """
    if name not in CYTHON:
        raise ValueError(f"name must be one of {tuple(CYTHON)}, got {name!r}")
    exercise = CYTHON[name]
    _, page, title, what, _, hint = SKELETONS[name]
    kernel, wrapper = _kernel_and_wrapper(name)
    head, _ = split_kernel(kernel)
    allowed = ("You may cimport the package's section kernels (as below): this exercise is "
               "the loop that composes them.  " if exercise.cimports_allowed else "")
    intro = (f"Exercise (Cython): {title}, the kernel {exercise.kernel}.\n\n{what}\n\n"
             f"Hint: {hint}\n\nThe derivation, step by step: the page \"{title}\", "
             f"{docs_url(page, docs)}\n\n"
             f"Write the body of {exercise.kernel} below: typed memoryviews in, typed locals, "
             "no Python object inside.  The outputs marked INOUT are added into (+=), never "
             "overwritten: a caller accumulates them over steps.  " + allowed
             + "The grader compiles this file with normrnn's own directives (boundscheck and "
             "wraparound off: an index out of bounds is not caught, it crashes or corrupts "
             "memory) and grades it for correctness, speed and purity:")
    given = _given(name)
    parts = [_comment(intro) + f"\n#\n#     normrnn exercise check . --section {name}\n",
             _preamble(name)]
    if given:
        parts.append("# Given: the activation" + (" and its derivative" if len(given) > 1 else "")
                     + ", inlined where you call them.\n" + "\n\n\n".join(given) + "\n")
    parts.append(f"{head}\n    {NOT_STARTED}\n")
    parts.append("# The grader calls this wrapper: keep its name and arguments.\n" + wrapper + "\n")
    return "\n\n".join(parts)


def solution(name):
    """The package's own kernel for section ``name``, as a ``.pyx`` that compiles alone.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    if name not in CYTHON:
        raise ValueError(f"name must be one of {tuple(CYTHON)}, got {name!r}")
    exercise = CYTHON[name]
    kernel, wrapper = _kernel_and_wrapper(name)
    helpers = _helpers(name, kernel)
    parts = [f"# The package's own kernel for the section {name!r}, from "
             f"normrnn/_kernels/{exercise.source}", _preamble(name).rstrip("\n")]
    parts += helpers + [kernel, wrapper]
    return "\n\n\n".join(parts) + "\n"
