"""Call a learner's compiled kernel and report plain arrays: the Cython track's child.

Run as ``python -I -B .../child.py`` by :func:`normrnn.exercises.sandbox.run_child`,
in a process of its own under the same limits as the Python track's child,
so that a kernel that writes out of bounds and crashes this process costs its
exercise a failing grade and nothing more.  It reads one request on stdin and
answers on the channel, one JSON object per line::

    {"ready": true}
    {"load_failure": "..."}                 the module did not load or has no wrapper
    {"call": 3, "outcome": {...}}           one call: what it returned and wrote
    {"speed": {...}}                        seconds per call: learner, NumPy twin, normrnn
    {"done": true}

Nothing here decides a grade: the outcome holds the output arrays as the
kernel left them (from starting values the grader chose), the returned value
and the inputs after the call; the grader subtracts, compares and judges
(:mod:`normrnn.exercises.cython.grade`).  The clock is bound before the
learner's module is loaded; the timed call's answer is sent back and checked
there too, so a kernel that skips its work when timed is not credited.
"""

import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time

import numpy as np

_clock = time.perf_counter                 # bound before any learner code runs

#: Seconds one timing measures at least (several calls), and how many are made (the best
#: is kept): short ones, so that some fall between two preemptions on a busy machine.
BUDGET, REPEAT = 0.001, 15


def _load(path, name):
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy(values):
    return [np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in values]


def _call(codec, guard, fn, args, starts, wrapper, timeout):
    fresh = _copy(args)
    reports = []
    for start in starts:
        inputs, outputs = _copy(fresh), [codec.decode_array(s) for s in start]
        returned = guard.call(fn, (*inputs, *outputs), name=wrapper, timeout=timeout)
        reports.append((returned, outputs, inputs))
    (returned, outputs, inputs), (again_returned, again, _) = reports
    return {"returned": [codec._encode_output(returned), codec._encode_output(again_returned)],
            "outputs": [[codec.encode_array(o) for o in outputs],
                        [codec.encode_array(o) for o in again]],
            "inputs_after": [codec.encode_argument(a) for a in inputs]}


def _seconds(functions):
    """Seconds per call of each function (its argument-less closure), the best of REPEAT,
    the functions measured in turn so that a change of machine load touches all."""
    loops = []
    for fn in functions:
        n = 1
        while True:
            start = _clock()
            for _ in range(n):
                fn()
            if _clock() - start >= BUDGET or n >= 1 << 16:
                break
            n *= 2
        loops.append(n)
    best = [float("inf")] * len(functions)
    for _ in range(REPEAT):
        for k, (fn, n) in enumerate(zip(functions, loops)):
            start = _clock()
            for _ in range(n):
                fn()
            best[k] = min(best[k], (_clock() - start) / n)
    return best


def _speed(codec, fn, request):
    speed = request["speed"]
    args = [codec.decode_argument(a) for a in speed["args"]]
    twin_args = [codec.decode_argument(a) for a in speed["twin_args"]]
    outputs = [codec.decode_array(o) for o in speed["outputs"]]
    twin = getattr(importlib.import_module(speed["twin"][0]), speed["twin"][1])
    own = getattr(importlib.import_module(speed["own"][0]), speed["own"][1]) \
        if speed["own"] else None
    scratch = _copy(outputs)
    closures = [lambda: fn(*args, *scratch), lambda: twin(*twin_args)]
    if own is not None:
        own_scratch = _copy(outputs)
        closures.append(lambda: own(*args, *own_scratch))
    seconds = _seconds(closures)
    checked = _copy(outputs)
    returned = fn(*args, *checked)
    return {"learner": seconds[0], "numpy": seconds[1],
            "normrnn": seconds[2] if own is not None else None,
            "returned": codec._encode_output(returned),
            "outputs": [codec.encode_array(o) for o in checked]}


def main():
    """Serve one request (see the module docstring) and end the process."""
    request = json.loads(sys.stdin.buffer.read())
    channel = request["channel"]

    def send(message):
        os.write(channel, (json.dumps(message) + "\n").encode())

    os.dup2(2, 1)
    sys.path.insert(0, request["package"])
    from normrnn.exercises import child as codec, guard
    for module in ("normrnn.reference", *(m for m in request.get("preload", ()))):
        importlib.import_module(module)
    codec._limit(int(request["memory"]))
    calls = [[codec.decode_argument(a) for a in call["args"]] for call in request["calls"]]
    send({"ready": True})
    try:
        module = guard.call(_load, (request["module"], request["modname"]),
                            name="loading the compiled module", timeout=request["timeout"])
        fn = getattr(module, request["wrapper"], None)
        if not callable(fn):
            raise guard.Failure(f"the module defines no function {request['wrapper']} "
                                "(the wrapper the grader calls)")
    except guard.Failure as failure:
        send({"load_failure": str(failure)})
        send({"done": True})
        os._exit(0)
    for i, (args, call) in enumerate(zip(calls, request["calls"])):
        try:
            outcome = _call(codec, guard, fn, args, call["starts"], request["wrapper"],
                            request["timeout"])
        except guard.Failure as failure:
            outcome = {"failure": str(failure)}
        send({"call": i, "outcome": outcome})
    if request.get("speed"):
        try:
            send({"speed": _speed(codec, fn, request)})
        except Exception as exc:                     # timing is never the verdict
            send({"speed": {"failure": f"{type(exc).__name__}: {exc}"}})
    send({"done": True})
    os._exit(0)


if __name__ == "__main__":
    main()
