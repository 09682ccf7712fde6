"""Read the package's own kernels: the functions of a ``.pyx`` file, by name.

The Cython track's skeletons take their signatures, and its solutions their
bodies, from the package's kernels (``normrnn/_kernels/*.pyx``), so that the
exercise's contract is the package's contract, word for word.
"""

import re
from pathlib import Path

__all__ = ["KERNELS", "functions", "split_kernel", "kernel_lines", "calls"]

#: The folder of the package's kernels (their ``.pyx`` and ``.pxd`` ship with the package).
KERNELS = Path(__file__).resolve().parent.parent.parent / "_kernels"

_START = re.compile(r"^(?:cdef|cpdef|def)\s+(?:inline\s+)?(?:[\w\[\]:, ]+?\s+)?(\w+)\s*\(")


def functions(text):
    """The top-level functions of Cython source ``text``, in order.

    Parameters
    ----------
    text : str

    Returns
    -------
    dict
        Name -> ``(first line, text)``: the 1-based line of the ``cdef`` or
        ``def``, and the function's lines up to its last indented line.
    """
    lines = text.splitlines()
    found = {}
    i = 0
    while i < len(lines):
        match = _START.match(lines[i])
        if match is None or lines[i].startswith("cdef extern"):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j][:1] in " \t"):
            j += 1
        while j > i + 1 and not lines[j - 1].strip():
            j -= 1
        found[match.group(1)] = (i + 1, "\n".join(lines[i:j]))
        i = j
    return found


def split_kernel(block):
    """(signature with its docstring, body) of a ``cdef`` function's text.

    Parameters
    ----------
    block : str
        One function, as :func:`functions` gives it.

    Returns
    -------
    head, body : str
    """
    lines = block.splitlines()
    end = next(i for i, line in enumerate(lines) if line.rstrip().endswith(":")
               and _depth("\n".join(lines[:i + 1])) == 0)
    end += 1
    if end < len(lines) and lines[end].strip().startswith('"""'):
        close = end if lines[end].strip().count('"""') >= 2 and len(lines[end].strip()) > 3 \
            else next(k for k in range(end + 1, len(lines)) if '"""' in lines[k])
        end = close + 1
    return "\n".join(lines[:end]), "\n".join(lines[end:])


def _depth(text):
    """Open parentheses left in ``text``, comments left out."""
    text = re.sub(r"#[^\n]*", "", text)
    return text.count("(") - text.count(")")


def kernel_lines(text, name):
    """The 1-based lines of the body of function ``name`` in ``text`` (signature and
    docstring left out); empty if ``text`` has no such function.

    Parameters
    ----------
    text : str
    name : str

    Returns
    -------
    range
    """
    found = functions(text).get(name)
    if found is None:
        return range(0)
    first, block = found
    head, body = split_kernel(block)
    start = first + len(head.splitlines())
    return range(start, start + len(body.splitlines()))


def calls(block, names):
    """Those of ``names`` that ``block`` calls (``name(``), in the order of ``names``."""
    return [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}\s*\(", block)]
