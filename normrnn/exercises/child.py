"""Call a learner's function and report plain arrays: the grading child process.

Run as ``python -I .../normrnn/exercises/child.py`` (a script, so that the
child imports nothing of :mod:`normrnn` itself; ``-I`` so that neither the
current folder nor ``PYTHONPATH`` decides which code runs).  It reads one
request from stdin, a JSON object made by :mod:`normrnn.exercises.sandbox`:
the learner's folder and exercise, and the arguments of every call.  It
answers on the channel, a pipe whose file descriptor the request names, one
JSON object per line::

    {"ready": true}                       the child is set up; learner code runs next
    {"load_failure": "..."}               the learner's file did not give a function
    {"call": 3, "outcome": {...}}         one call's outcome (see :func:`run_call`)
    {"flags": ["imports normrnn.reference"]}  the package's answers it used (audit hook)
    {"done": true}

Nothing in the child decides a grade.  An outcome holds only what the
function returned (arrays, a number, or a description of anything else), the
inputs as they were after the call, and which outputs share memory with which
input.  The comparison with the right answers, the cases and the verdict are
all in the grading process, which reads every line strictly
(:func:`decode_array`, :mod:`normrnn.exercises.grading`): a learner who
patches numpy, :mod:`normrnn.gradcheck` or this module in the child, or who
writes to the channel, can at most change the outputs the grading process
then grades.

Memory sharing (``np.shares_memory``) can only be measured where the arrays
live, so the child measures it, with ``shares_memory`` bound before the
learner's module is imported; a learner who digs that binding out of this
module's globals can hide an aliased output, and nothing else.

Uninitialised outputs (``np.empty_like`` rows never written) are caught by
calling the function twice on the same inputs, with the freed memory of the
sizes involved first filled with NaN bytes, then with other bytes
(:func:`_poison`): an output that depends on what the memory held differs
between the calls or holds NaN.

This module imports only the standard library and NumPy, so that
:func:`normrnn.exercises.grade` can use :func:`run_call` in-process too.
"""

import base64
import importlib.util
import json
import linecache
import os
import sys
import tokenize
import traceback

import numpy as np

_shares_memory = np.shares_memory        # bound before any learner code runs
_ndarray = np.ndarray

#: The modules whose import from the learner's code is reported: the
#: package's own answers (the reference, the Cython kernels, the model, the
#: notes) and the grader.
WATCHED = ("normrnn.reference", "normrnn.sections", "normrnn._kernels", "normrnn.model",
           "normrnn.notes", "normrnn.exercises", "normrnn.testing")

#: Largest array the codec accepts, in entries.
MAX_ENTRIES = 10_000_000


# --- the codec: plain arrays as JSON ------------------------------------------------

class Malformed(ValueError):
    """A value on the channel is not what the protocol allows."""


def encode_array(a):
    """A JSON-ready dict holding ``a``'s dtype, shape and bytes (a plain copy).

    Parameters
    ----------
    a : numpy.ndarray

    Returns
    -------
    dict
    """
    a = np.array(a, copy=True, subok=False, order="C")
    return {"dtype": a.dtype.str, "shape": list(a.shape),
            "data": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_array(data):
    """The array :func:`encode_array` wrote; :class:`Malformed` for anything else.

    Only plain numeric dtypes (bool, integers, floats, complex) are accepted,
    and the bytes must match the shape exactly: nothing on the channel is ever
    unpickled or evaluated.

    Parameters
    ----------
    data : dict

    Returns
    -------
    numpy.ndarray
    """
    if not isinstance(data, dict) or set(data) != {"dtype", "shape", "data"}:
        raise Malformed("an array must have dtype, shape and data")
    kind, shape, raw = data["dtype"], data["shape"], data["data"]
    if not isinstance(kind, str) or not isinstance(raw, str) or not isinstance(shape, list):
        raise Malformed("an array's dtype, shape and data have the wrong types")
    if len(shape) > 8 or not all(type(n) is int and 0 <= n <= MAX_ENTRIES for n in shape):
        raise Malformed(f"bad shape {shape!r}")
    try:
        dtype = np.dtype(kind)
    except TypeError:
        raise Malformed(f"bad dtype {kind!r}") from None
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise Malformed(f"dtype {kind!r} is not a plain number")
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_ENTRIES:
        raise Malformed("too large")
    try:
        buffer = base64.b64decode(raw.encode("ascii"), validate=True)
    except ValueError:
        raise Malformed("bad base64") from None
    if len(buffer) != size * dtype.itemsize:
        raise Malformed("the bytes do not match the shape")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()


def encode_argument(value):
    """An argument of a call (an array, an int, a list of ints) as JSON."""
    if isinstance(value, np.ndarray):
        return {"array": encode_array(value)}
    if isinstance(value, list) and all(type(v) is int for v in value):
        return {"ints": list(value)}
    if type(value) is int:
        return {"int": value}
    return {"other": _describe(value)}


def decode_argument(data):
    """The argument :func:`encode_argument` wrote (``{"other": ...}`` -> a str)."""
    if not isinstance(data, dict) or len(data) != 1:
        raise Malformed("an argument must be one of array, ints, int, other")
    (kind, value), = data.items()
    if kind == "array":
        return decode_array(value)
    if kind == "ints" and isinstance(value, list) and all(type(v) is int for v in value):
        return list(value)
    if kind == "int" and type(value) is int:
        return value
    if kind == "other" and isinstance(value, str):
        return Described(value)
    raise Malformed(f"bad argument {kind!r}")


class Described(str):
    """A returned value that was neither an array nor a number: its description."""


def _describe(value):
    """``"a list of 3 values"``, ``"None"``, ``"a str"``: what ``value`` is, in words."""
    if value is None:
        return "None"
    kind = type(value).__name__
    if isinstance(value, (tuple, list)):
        n = len(value)
        return f"a {kind} of {n} value{'s' * (n != 1)}"
    return f"a {kind}"


def _encode_output(value):
    """An output as JSON: an array, a number (a loss), or its description."""
    if isinstance(value, _ndarray):
        if value.dtype.kind in "biufc" and value.dtype.fields is None:
            return {"array": encode_array(value)}
        return {"other": f"an array of dtype {value.dtype}"}
    if type(value) is bool or isinstance(value, np.bool_):
        return {"other": "a bool"}
    if isinstance(value, (int, float, np.integer, np.floating)):
        return {"number": float(value)}
    return {"other": _describe(value)}


def decode_output(data):
    """The output :func:`_encode_output` wrote: an array, a float or :class:`Described`."""
    if not isinstance(data, dict) or len(data) != 1:
        raise Malformed("an output must be one of array, number, other")
    (kind, value), = data.items()
    if kind == "array":
        return decode_array(value)
    if kind == "number" and isinstance(value, (int, float)) and type(value) is not bool:
        return float(value)
    if kind == "other" and isinstance(value, str):
        return Described(value)
    raise Malformed(f"bad output {kind!r}")


# --- one call -------------------------------------------------------------------------

def _is_grads(value):
    """Whether ``value`` is a :class:`normrnn.Grads` (the reference's answer), known by name.

    By name: this module imports nothing of :mod:`normrnn`.
    """
    kind = type(value)
    return kind.__name__ == "Grads" and kind.__module__ == "normrnn.grads"


def _unpack(name, function, outputs, result):
    """The learner's return value as {output name: value}; ``Failure`` if it cannot be."""
    failure = _guard().Failure
    if name in ("loss_and_grads", "batched"):          # (loss, grads dict)
        if not isinstance(result, tuple) or len(result) != 2:
            raise failure(f"{function} must return (loss, grads), got {_describe(result)}")
        loss, grads = result
        if _is_grads(grads):
            grads = grads.as_dict()
        if not isinstance(grads, dict):
            raise failure(f"{function}'s grads must be a dict keyed embedding, ih, hh, bias; "
                          f"got {type(grads).__name__}")
        keys = list(dict.keys(grads))
        missing = [k for k in outputs[1:] if k not in keys]
        if missing:
            raise failure(f"{function}'s grads has no {', '.join(missing)} "
                          f"(keys: {', '.join(map(str, keys)) or 'none'})")
        return {"loss": loss, **{k: grads[k] for k in outputs[1:]}}
    if len(outputs) == 1:
        if isinstance(result, tuple):
            raise failure(f"{function} must return one array ({outputs[0]}), got "
                          f"{_describe(result)}")
        return {outputs[0]: result}
    if not isinstance(result, tuple) or len(result) != len(outputs):
        raise failure(f"{function} must return {len(outputs)} values ({', '.join(outputs)}), "
                      f"got {_describe(result)}")
    return dict(zip(outputs, tuple.__iter__(result)))


def _aliases(values, args, inputs):
    """[[output, input, identical]] for each output sharing memory with an input."""
    found = []
    for output, value in values.items():
        if not isinstance(value, _ndarray):
            continue
        for input_name, arg in zip(inputs, args):
            if isinstance(arg, _ndarray) and _shares_memory(value, arg):
                found.append([output, input_name, value is arg])
    return found


#: Bytes the freed memory is filled with before the first and the second call:
#: 0xFF makes NaN in float32 and float64; 0x41 a finite number in both.
POISONS = (0xFF, 0x41)


def _poison(sizes, byte, copies=12):
    """Allocate ``copies`` blocks of each size in ``sizes`` filled with ``byte``, then free them.

    NumPy and the C allocator hand freed blocks of a size back to the next
    allocation of that size, so an ``np.empty`` right after this holds
    ``byte``s rather than whatever happened to be there (often zeros).
    """
    blocks = [np.full(int(n), byte, dtype=np.uint8) for n in sizes for _ in range(copies)
              if 0 < int(n) <= MAX_ENTRIES]
    del blocks


def _call_once(fn, args, byte, sizes, *, name, function, outputs, timeout):
    guard = _guard()
    fresh = tuple(np.array(a, copy=True) if isinstance(a, _ndarray) else
                  list(a) if isinstance(a, list) else a for a in args)
    _poison(sizes, byte)
    result = guard.call(fn, fresh, name=function, timeout=timeout)
    return fresh, guard.call(_unpack, (name, function, outputs, result),
                             name=f"reading what {function} returned", timeout=timeout)


def run_call(fn, args, *, name, function, outputs, inputs, sizes=(), timeout=10.0):
    """Call ``fn(*args)`` twice (see :func:`_poison`) and report it as plain JSON.

    Parameters
    ----------
    fn : callable
        The learner's function.
    args : tuple
        Its arguments (copied for each call).
    name : str
        The exercise.
    function : str
        The function's name, for the messages.
    outputs, inputs : sequence of str
        The names of what it returns and of its arguments.
    sizes : sequence of int, optional
        Sizes in bytes of the arrays it should return, to poison.
    timeout : float, optional
        Seconds each call may run.

    Returns
    -------
    dict
        ``{"failure": message}``, or ``{"outputs": ..., "again": ...,
        "inputs_after": ..., "aliased": ...}``: the first call's outputs, the
        second call's, the arguments of the first call as they were after it,
        and the memory sharing of the first call's outputs with its arguments.
    """
    guard = _guard()
    sizes = sorted(set(int(n) for n in sizes) | {a.nbytes for a in args
                                                  if isinstance(a, _ndarray)})
    kw = dict(name=name, function=function, outputs=outputs, timeout=timeout)
    try:
        fresh, values = _call_once(fn, args, POISONS[0], sizes, **kw)
        report = {"outputs": guard.call(_encode_outputs, (values,), name=f"reading what "
                                        f"{function} returned", timeout=timeout),
                  "inputs_after": [encode_argument(a) for a in fresh],
                  "aliased": _aliases(values, fresh, inputs)}
        del fresh, values
        _, again = _call_once(fn, args, POISONS[1], sizes, **kw)
        report["again"] = guard.call(_encode_outputs, (again,), name=f"reading what "
                                     f"{function} returned", timeout=timeout)
        return report
    except guard.Failure as failure:
        return {"failure": str(failure), "not_started": isinstance(failure, guard.NotStarted)}


def _encode_outputs(values):
    return {k: _encode_output(v) for k, v in values.items()}


# --- the process ------------------------------------------------------------------------

_GUARD = []


def _guard():
    """:mod:`normrnn.exercises.guard`: the package's module when this one is imported
    as part of the package, else loaded by its path; resolved once, so that learner
    code importing the grader cannot swap it mid-call."""
    if not _GUARD:
        if __package__:
            from . import guard as module
        else:
            path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guard.py")
            spec = importlib.util.spec_from_file_location("_normrnn_guard", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        _GUARD.append(module)
    return _GUARD[0]


def _limit(memory):
    """Hard limits (soft = hard) on address space, processes and core files.

    A process run by root may raise its own hard limits, and ``RLIMIT_NPROC``
    does not bind root at all: the grading process therefore also counts the
    child's processes and their memory, and ends them all when over
    (:mod:`normrnn.exercises.sandbox`).
    """
    try:
        import resource
    except ImportError:                               # not Unix: the parent's limits hold
        return
    with open("/proc/self/statm") as statm:
        current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    for which, value in ((resource.RLIMIT_AS, current + memory), (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_NPROC, _user_processes() + 256)):
        try:
            hard = resource.getrlimit(which)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
        except (OSError, ValueError):
            pass


def _user_processes():
    """The tasks (threads included: ``RLIMIT_NPROC`` counts them) of this user."""
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            pass
    return count


class _Audit:
    """What the learner's code did with the package's own answers, as flags.

    Three witnesses of imports, all in place before the learner's module is
    imported: an import audit hook (which no code can remove; it sees
    ``import`` statements), a finder at the head of ``sys.meta_path`` (it
    sees ``importlib.import_module`` too), and, if the learner's code removed
    that finder, every watched module in ``sys.modules`` at the end (this
    script imports none of :mod:`normrnn`, so any there came with the
    learner's code).  An import made by the package itself
    (``normrnn/__init__.py`` importing its kernels) is not counted.  The
    audit hook also sees a watched module's file opened for reading, and
    ``normrnn exercise solution`` run as a command.
    """

    def __init__(self, package):
        self.package = package
        self.seen = []

    def __call__(self, event, args):
        if event == "import":
            self.note(args[0])
        elif event == "open" and isinstance(args[0], (str, bytes)):
            self.opened(os.fsdecode(args[0]))
        elif event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn"):
            words = " ".join(map(str, args[1] if event != "os.system" else args[:1]))
            if "normrnn" in words and "solution" in words:
                self.flag("runs normrnn exercise solution")

    def find_spec(self, name, path=None, target=None):
        """Never finds anything: it only notes the request (a ``sys.meta_path`` finder)."""
        self.note(name)

    def flag(self, text):
        if text not in self.seen:
            self.seen.append(text)

    def _caller(self):
        """The file of the first frame outside the import machinery and this module."""
        frame = sys._getframe(2)
        while frame is not None and (frame.f_code.co_filename.startswith("<frozen")
                                     or frame.f_code.co_filename in _MACHINERY):
            frame = frame.f_back
        return os.path.abspath(frame.f_code.co_filename) if frame is not None else ""

    def note(self, name):
        module = next((w for w in WATCHED if name == w or str(name).startswith(w + ".")), None)
        if module is not None and f"imports {module}" not in self.seen \
                and not self._caller().startswith(self.package + os.sep):
            self.flag(f"imports {module}")

    def opened(self, path):
        path = os.path.abspath(path)
        if not path.startswith(self.package + os.sep):
            return
        inside = os.path.relpath(path, os.path.dirname(self.package)).replace(os.sep, "/")
        module = inside.rsplit(".", 1)[0].replace("/", ".")
        if _watched(module) is None or sys._getframe(2).f_code.co_filename.startswith(
                "<frozen"):                                 # an import: noted as one
            return
        if not self._caller().startswith(self.package + os.sep):
            self.flag(f"reads {inside}")

    def found(self):
        """The flags, in order; every watched module loaded if the finder was removed."""
        if any(finder is self for finder in sys.meta_path):
            return list(self.seen)
        loaded = [f"imports {w}" for w in WATCHED if any(m == w or m.startswith(w + ".")
                                                         for m in list(sys.modules))]
        return list(dict.fromkeys(self.seen + loaded))


def _watched(module):
    return next((w for w in WATCHED if module == w or module.startswith(w + ".")), None)


_MACHINERY = {__file__, importlib.__file__, getattr(importlib.util, "__file__", ""),
              linecache.__file__, tokenize.__file__, traceback.__file__}


def _load(folder, name, function, timeout):
    """The learner's function from ``folder/<name>.py``, or a failure message."""
    guard = _guard()
    path = os.path.join(folder, f"{name}.py")
    if not os.path.isfile(path):
        return None, f"no file {path}"
    spec = importlib.util.spec_from_file_location(f"normrnn_solution_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, folder)
    try:
        guard.call(spec.loader.exec_module, (module,), name=f"importing {name}.py",
                   timeout=timeout)
    except guard.NotStarted:
        return None, f"importing {name}.py raised NotImplementedError"
    except guard.Failure as failure:
        return None, str(failure)
    fn = getattr(module, function, None)
    if not callable(fn):
        return None, f"{name}.py defines no function {function}"
    return fn, None


def main():
    """Serve one request (see the module docstring) and end the process."""
    request = json.loads(sys.stdin.buffer.read())
    channel = request["channel"]

    def send(message):
        os.write(channel, (json.dumps(message) + "\n").encode())

    os.dup2(2, 1)                                      # the learner's prints go to stderr
    sys.path.insert(0, request["package"])             # the normrnn the grader runs
    calls = [tuple(decode_argument(a) for a in call["args"]) for call in request["calls"]]
    audit = _Audit(os.path.join(request["package"], "normrnn"))
    sys.addaudithook(audit)
    sys.meta_path.insert(0, audit)
    _guard()
    _limit(int(request["memory"]))
    send({"ready": True})
    fn, failure = _load(request["folder"], request["name"], request["function"],
                        request["timeout"])
    if failure is not None:
        send({"load_failure": failure})
    else:
        for i, (args, call) in enumerate(zip(calls, request["calls"])):
            outcome = run_call(fn, args, name=request["name"], function=request["function"],
                               outputs=request["outputs"], inputs=request["inputs"],
                               sizes=call["sizes"], timeout=request["timeout"])
            send({"call": i, "outcome": outcome})
    send({"flags": audit.found()})
    send({"done": True})
    os._exit(0)                      # never wait for threads or children the learner left


if __name__ == "__main__":
    main()
