"""How much of a compiled kernel is still Python: read from ``cython -a``'s annotation.

Cython's annotated HTML colours each source line by how many calls into the
Python C-API its C code makes (white: none).  :func:`python_lines` keeps the
lines of the kernel's body that make any, with the C-API functions they call,
and :func:`advice` turns each into what to change: an untyped variable, a
Python list, ``range(len(x))`` on an untyped object, bounds checking left on
by a ``# cython:`` header.  :func:`callable_without_gil` says whether the
kernel is declared ``nogil``: Cython refuses to compile a ``nogil`` function
that touches a Python object, so a kernel that compiled with ``nogil`` runs
with the GIL released.
"""

import html
import re
from dataclasses import dataclass, field

from .source import functions, kernel_lines, split_kernel

__all__ = ["PythonLine", "Purity", "annotated_lines", "python_lines", "advice", "purity",
           "callable_without_gil"]

_LINE = re.compile(r'<pre class="cython line score-(\d+)"[^>]*>.*?(\d+)</span>:(.*?)</pre>'
                   r'(?:\s*<pre class=.cython code[^>]*>(.*?)</pre>)?', re.S)
_API = re.compile(r"\b(_{0,2}Py[A-Z][A-Za-z_]*|__Pyx_[A-Za-z_]+)\s*\(")

#: C-API names that are bookkeeping, not Python work (reference counts of memoryview slices).
#: (and the GIL bookkeeping of a ``prange``'s error path, which runs only if it fails).
_BOOKKEEPING = re.compile(r"^(__Pyx_(INC|DEC|XDEC|XCLEAR)_MEMVIEW|__PYX_XCLEAR_MEMVIEW|"
                          r"__Pyx_RefNanny\w*|__Pyx_(X)?GOTREF|__Pyx_(X)?GIVEREF|"
                          r"__Pyx_FastGIL_\w+|__Pyx_\w*UnknownThread)$")


@dataclass
class PythonLine:
    """One line of the kernel that calls into Python.

    Attributes
    ----------
    line : int
    text : str
        The source line.
    score : int
        Cython's count of C-API calls on it (the annotation's colour).
    api : list of str
        The C-API functions its C code calls.
    """

    line: int
    text: str
    score: int
    api: list = field(default_factory=list)


@dataclass
class Purity:
    """The purity grade of one kernel.

    Attributes
    ----------
    lines : list of PythonLine
    nogil : bool
        The kernel is declared ``nogil`` (and so compiled without the GIL).
    advice : list of str
        What to change, one sentence per cause.
    """

    lines: list
    nogil: bool
    advice: list

    @property
    def white(self):
        """No Python line in the kernel, and callable without the GIL."""
        return not self.lines and self.nogil

    def summary(self):
        """``"0 Python lines"`` or ``"2 Python lines (l. 14, 17)"``, and the GIL."""
        n = len(self.lines)
        text = f"{n} Python line{'s' * (n != 1)}"
        if n:
            shown = ", ".join(str(p.line) for p in self.lines[:6]) + (", ..." if n > 6 else "")
            text += f" (l. {shown})"
        return text + ("" if self.nogil else ", needs the GIL")


def annotated_lines(annotation):
    """Line -> (score, source text, C code) of a ``cython -a`` HTML file's text."""
    found = {}
    for match in _LINE.finditer(annotation):
        score, line, text, code = match.groups()
        found[int(line)] = (int(score), html.unescape(re.sub(r"<[^>]+>", "", text)),
                            html.unescape(re.sub(r"<[^>]+>", "", code or "")))
    return found


def python_lines(annotation, source, kernel):
    """The lines of ``kernel``'s body (and of the ``cdef`` helpers it calls) that call
    into the Python C-API.

    Parameters
    ----------
    annotation : str
        The ``cython -a`` HTML.
    source : str
        The ``.pyx`` it annotates.
    kernel : str
        The kernel's name.

    Returns
    -------
    list of PythonLine
    """
    scored = annotated_lines(annotation)
    found = []
    for line in _kernel_body_lines(source, kernel):
        score, text, code = scored.get(line, (0, "", ""))
        api = sorted({a for a in _API.findall(code) if not _BOOKKEEPING.match(a)})
        if score > 0 and api:
            found.append(PythonLine(line, text.strip(), score, api))
    return found


def _kernel_body_lines(source, kernel):
    """The body lines of ``kernel`` and of every ``cdef`` function of the file it calls."""
    every = functions(source)
    names, todo = {kernel}, [kernel]
    while todo:
        block = every.get(todo.pop(), (0, ""))[1]
        for other, (_, text) in every.items():
            if other not in names and text.startswith("cdef") and \
                    re.search(rf"(?<![\w.]){re.escape(other)}\s*\(", block):
                names.add(other)
                todo.append(other)
    return sorted(line for n in names for line in kernel_lines(source, n))


def callable_without_gil(source, kernel):
    """Whether ``kernel`` is declared ``nogil`` in ``source`` (False if it is not there)."""
    found = functions(source).get(kernel)
    if found is None:
        return False
    head, _ = split_kernel(found[1])
    signature = re.sub(r"#[^\n]*", "", head.split('"""')[0])
    return bool(re.search(r"\)\s*[^:]*\bnogil\b", signature))


def _header_directive(source, name):
    """The line of a ``# cython: NAME=True`` header or ``@cython.NAME(True)``, or None."""
    for number, line in enumerate(source.splitlines(), 1):
        if re.match(rf"#\s*cython\s*:.*\b{name}\s*=\s*True", line) or \
                re.match(rf"\s*@cython\.{name}\(\s*True\s*\)", line):
            return number
    return None


def _cause(line, source):
    """What makes ``line`` (a PythonLine) Python, as one sentence."""
    api = " ".join(line.api)
    where = f"line {line.line}"
    if "RaiseBufferIndexError" in api:
        header = _header_directive(source, "boundscheck")
        return (f"{where} checks its bounds: boundscheck left on by the `# cython:` header "
                f"(line {header}); remove it" if header else
                f"{where} checks its bounds (boundscheck is on): remove the directive that "
                "turns it on")
    if re.search(r"range\(\s*len\(", line.text):
        return (f"{where}: `range(len(x))` on an untyped object; loop over "
                "`range(x.shape[0])` with a `cdef Py_ssize_t` index")
    if re.search(r"PyList_|__Pyx_PyList", api):
        return f"{where} builds or indexes a Python list: use a typed memoryview"
    if re.search(r"GetItem|SetItem", api):
        return (f"{where} indexes a Python object (an untyped variable or argument): "
                "type it as a memoryview, e.g. `const floating[::1] x`")
    if "PyNumber_" in api or "PyFloat_" in api or "PyInt_" in api or "PyLong_" in api:
        return (f"{where} computes with Python objects: give its variables a C type "
                "(`cdef floating acc`, `cdef Py_ssize_t i`)")
    if "GetModuleGlobalName" in api or "GetBuiltinName" in api:
        return f"{where} looks a Python name up at run time: call a `cdef` function or libc.math"
    if "Call" in api:
        return f"{where} calls a Python function: call a `cdef` function or libc.math instead"
    return f"{where} calls the Python C-API ({', '.join(line.api[:3])})"


def advice(lines, source, nogil):
    """What to change to make the kernel white, one sentence per line (and the GIL)."""
    said = [_cause(line, source) for line in lines]
    if not nogil:
        said.append("the kernel is not declared `nogil`: add `noexcept nogil` to its "
                    "signature (and call it inside `with nogil:`)")
    return said


def purity(annotation, source, kernel):
    """The :class:`Purity` of ``kernel`` from its annotation and source.

    Parameters
    ----------
    annotation : str
    source : str
    kernel : str

    Returns
    -------
    Purity
    """
    lines = python_lines(annotation, source, kernel)
    nogil = callable_without_gil(source, kernel)
    return Purity(lines, nogil, advice(lines, source, nogil))
