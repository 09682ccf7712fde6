"""Find the writes in a parallel region that two threads may make to the same memory.

A ``prange`` body, and the body of a ``with parallel():`` block, runs on every
thread.  A write there is private to one thread only if what it writes is
picked by the thread: by the ``prange`` variable, by ``threadid()``, or by a
variable computed from them.  Any other write, ``d_scaled_hh[i, j] += ...``
inside a ``prange`` over ``b`` for instance, is made by every thread, to the
same entry: a race (or, under ``with gil``, a sum whose order depends on the
schedule).  The scan is static: it needs no run that happens to collide.

What it follows, so that a write cannot hide from it:

* the lines of the region at any depth, ``with gil:`` blocks included;
* variables computed from the prange variable or ``threadid()`` (``row = i * H``,
  ``p = &d_w[i, 0]``), and inner loops whose range is computed from them;
* pointers: ``p[k] = ...`` writes what ``p`` points to, shared unless ``p`` or
  ``k`` is picked by the thread;
* ``cdef`` functions of the same file called from the region, scanned with the
  arguments the call gives them (a parameter is private if its argument is);
  ``global`` variables they write are shared;
* functions from elsewhere (a ``cimport``, ``memset``) handed a writable array
  or pointer that no thread owns: they may write it from every thread.

It is a scan of the text, not a compiler: it reads one statement per line.
"""

import re
from typing import NamedTuple

from .source import functions, split_kernel

__all__ = ["SharedWrite", "shared_writes"]


class SharedWrite(NamedTuple):
    """One write every thread may make to the same memory.

    Attributes
    ----------
    loop : int
        The line of the ``prange`` (or ``parallel()`` block).
    variable : str
        The prange's variable (``"threadid()"`` for a parallel block).
    line : int
        The line of the write (in a helper, the helper's line).
    target : str
        What it writes (``d_scaled_hh[i, j]``).
    via : str
        How the region reaches the write (``"_add, called at line 31"``), or "".
    """

    loop: int
    variable: str
    line: int
    target: str
    via: str = ""


#: Calls that write nothing a thread shares.
_HARMLESS = {"range", "prange", "threadid", "sizeof", "malloc", "calloc", "free", "abs",
             "exp", "expf", "log", "logf", "sqrt", "sqrtf", "tanh", "tanhf", "fabs", "fabsf",
             "pow", "powf", "min", "max", "len", "print", "parallel", "cython", "float", "int",
             "f", "f_grad"}
_KEYWORDS = {"if", "elif", "while", "for", "in", "and", "or", "not", "return", "with", "nogil",
             "gil", "cdef", "else", "is", "None", "True", "False", "pass", "break", "continue"}

_PRANGE = re.compile(r"^(\s*)for\s+(\w+)\s+in\s+prange\s*\(")
_PARALLEL = re.compile(r"^(\s*)with\b.*\bparallel\s*\(")
_FOR = re.compile(r"^(\s*)for\s+(\w+)\s+in\s+(.*):")
_WRITE = re.compile(r"^\s*(.+?)\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)\s*(.*)$")
_CALL = re.compile(r"(?<![\w.])(\w+)\s*\(")


def shared_writes(source):
    """The writes of ``source``'s parallel regions that no thread owns.

    Parameters
    ----------
    source : str
        A ``.pyx`` file's text.

    Returns
    -------
    list of SharedWrite
        In the order of the lines; empty when every write in every region is
        picked by its thread.
    """
    lines = source.splitlines()
    defined = _functions(source)
    found = []
    for number, line in enumerate(lines):
        prange, parallel = _PRANGE.match(line), _PARALLEL.match(line)
        if prange is None and parallel is None:
            continue
        if parallel is None and _inside_parallel(lines, number):
            continue                      # scanned with its parallel block
        indent = len((prange or parallel).group(1))
        body = _block(lines, number, indent)
        variable = prange.group(2) if prange else "threadid()"
        region = Region(number + 1, variable, defined, found)
        base = {prange.group(2)} if prange else set()
        region.scan(body, base, _writable_names(lines, number, defined), via="")
    unique = {(w.line, w.target, w.via): w for w in found}
    return sorted(unique.values(), key=lambda w: (w.loop, w.line))


class Region:
    """One parallel region being scanned: where its findings go."""

    def __init__(self, loop, variable, defined, found, depth=0):
        self.loop, self.variable, self.defined, self.found = loop, variable, defined, found
        self.depth = depth

    def scan(self, body, base, writable, via, globals_=()):
        """Record the shared writes of ``body``: ``[(line number, text)]``.

        ``base`` holds the variables the thread picks on entry; ``writable`` the
        names of arrays and pointers that hold memory every thread sees.
        """
        owned = _private_variables(body, base)
        for number, text in body:
            code = _code(text)
            target = _target(code)
            if target is not None and _is_shared_write(target, owned, globals_):
                self.found.append(SharedWrite(self.loop, self.variable, number, target, via))
            self._calls(code, number, owned, writable, via)

    def _calls(self, code, number, owned, writable, via):
        for name, arguments in _calls(code):
            if name in self.defined and self.depth < 4:
                self._helper(name, arguments, number, owned, via)
            elif name not in _HARMLESS and name not in _KEYWORDS:
                for argument in arguments:
                    if _names(argument) & writable and not _names(argument) & owned:
                        self.found.append(SharedWrite(
                            self.loop, self.variable, number, argument.strip(),
                            f"handed to {name}(), which may write it from every thread"))

    def _helper(self, name, arguments, number, owned, via):
        first, params, body, globals_ = self.defined[name]
        base = {p for p, a in zip(params, arguments) if _names(a) & owned} | _locals(body)
        writable = {p for p, a in zip(params, arguments) if not _names(a) & owned}
        here = f"{name}(), called at line {number}" + (f" ({via})" if via else "")
        inner = Region(self.loop, self.variable, self.defined, self.found, self.depth + 1)
        inner.scan(body, base, writable, here, globals_)


def _is_shared_write(target, owned, globals_):
    """Whether writing ``target`` writes memory every thread may write."""
    names = _names(target)
    if "[" in target or target.startswith(("(", "*")):
        return not names & owned
    return target in globals_                     # a scalar: private, or a reduction, unless global


def _private_variables(body, base):
    """The variables of ``body`` picked by the thread: ``base``, what is computed from
    them only, and inner loops over ranges computed from them (to a fixed point)."""
    private = set(base) | {"threadid()"}
    assignments = {}
    for _, text in body:
        code = _code(text)
        loop = _FOR.match(code)
        if loop and _PRANGE.match(code):
            private.add(loop.group(2))            # a prange nested in a parallel block
        elif loop:
            assignments.setdefault(loop.group(2), []).append(loop.group(3))
            continue
        declared = re.match(r"\s*cdef\s+[\w.]+[\s*]+(\w+)\s*=\s*(.*)$", code)
        if declared:
            assignments.setdefault(declared.group(1), []).append(declared.group(2))
            continue
        target = _target(code)
        if target is not None and re.fullmatch(r"\w+", target):
            assignments.setdefault(target, []).append(_WRITE.match(code).group(2))
    changed = True
    while changed:
        changed = False
        for name, values in assignments.items():
            if name not in private and all(_names(v) & private for v in values):
                private.add(name)
                changed = True
    return private


def _target(code):
    """What the statement ``code`` assigns to, or None if it assigns nothing."""
    write = _WRITE.match(code)
    if write is None or code.lstrip().startswith(("for ", "if ", "elif ", "while ", "cdef ",
                                                   "with ", "return ")):
        return None
    target = write.group(1).strip()
    head = target.split("[")[0].lstrip("(*")
    return None if "(" in head or "=" in target else target


def _names(expression):
    """The identifiers in ``expression``, ``threadid()`` counted as one."""
    names = set(re.findall(r"[A-Za-z_]\w*", re.sub(r"\bthreadid\s*\(\s*\)", " threadid() ",
                                                   expression)))
    if re.search(r"\bthreadid\s*\(\s*\)", expression):
        names.add("threadid()")
    return names - _KEYWORDS


def _calls(code):
    """``(name, [argument texts])`` of each call in ``code``."""
    found = []
    for match in _CALL.finditer(code):
        depth, start, arguments = 0, match.end(), []
        for k in range(match.end(), len(code)):
            char = code[k]
            if char in "([":
                depth += 1
            elif char in ")]":
                if depth == 0:
                    arguments.append(code[start:k])
                    break
                depth -= 1
            elif char == "," and depth == 0:
                arguments.append(code[start:k])
                start = k + 1
        found.append((match.group(1), [a for a in arguments if a.strip()]))
    return found


def _code(text):
    """``text`` without its comment."""
    return re.sub(r"#.*$", "", text).rstrip()


def _block(lines, number, indent):
    """``[(1-based line, text)]`` of the block under ``lines[number]``."""
    body = []
    for k in range(number + 1, len(lines)):
        text = lines[k]
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        body.append((k + 1, text))
    return body


def _inside_parallel(lines, number):
    """Whether ``lines[number]`` lies in a ``with ... parallel(...):`` block."""
    indent = len(lines[number]) - len(lines[number].lstrip())
    for k in range(number - 1, -1, -1):
        text = lines[k]
        if not text.strip():
            continue
        depth = len(text) - len(text.lstrip())
        if depth < indent:
            if _PARALLEL.match(text):
                return True
            indent = depth
            if depth == 0:
                return False
    return False


def _functions(source):
    """Name -> (first line, parameter names, body ``[(line, text)]``, globals) of the
    file's functions."""
    found = {}
    for name, (first, block) in functions(source).items():
        head, body = split_kernel(block)
        signature = re.sub(r"#[^\n]*", "", head)
        inside = signature[signature.index("(") + 1:signature.rindex(")")]
        params = [re.sub(r"=.*$", "", p).strip() for p in _split(inside)]
        params = [re.findall(r"\w+", p)[-1] for p in params if re.findall(r"\w+", p)]
        start = first + len(head.splitlines())
        numbered = list(enumerate(body.splitlines(), start))
        globals_ = {g.strip() for _, t in numbered
                    for g in (re.match(r"\s*global\s+(.*)", t) or [None, ""])[1].split(",") if g}
        found[name] = (first, params, numbered, globals_)
    return found


def _locals(body):
    """A helper's own memory, private to each call: its C arrays (``cdef double
    tmp[16]``) and the buffers it allocates."""
    found = set()
    for _, text in body:
        code = _code(text)
        array = re.match(r"\s*cdef\s+[\w.]+\s+(\w+)\s*\[", code)
        allocated = re.match(r"\s*cdef\s+[\w.]+\s*\*\s*(\w+)\s*=.*\b(?:malloc|calloc)\s*\(", code)
        for match in (array, allocated):
            if match:
                found.add(match.group(1))
    return found


def _split(text):
    """``text`` split at its top-level commas."""
    parts, depth, start = [], 0, 0
    for k, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    parts.append(text[start:])
    return parts


def _writable_names(lines, number, defined):
    """The arrays and pointers of the function around ``lines[number]`` that may be
    written: its parameters not declared ``const``, and its pointer locals."""
    for first, _, body, _ in defined.values():
        numbers = [n for n, _ in body]
        if numbers and numbers[0] <= number + 1 <= numbers[-1]:
            head = "\n".join(lines[first - 1:numbers[0] - 1])
            inside = re.sub(r"#[^\n]*", "", head)
            inside = inside[inside.index("(") + 1:inside.rindex(")")]
            names = {re.findall(r"\w+", p)[-1] for p in _split(inside)
                     if re.findall(r"\w+", p) and "const" not in p and ("[" in p or "*" in p)}
            for _, text in body:
                declared = re.match(r"\s*cdef\s+[\w.]+\s*\*\s*(.*)", text)
                if declared:
                    names |= set(re.findall(r"\*?\s*(\w+)\s*(?:=[^,]*)?(?:,|$)", declared.group(1)))
            return names
    return set()
