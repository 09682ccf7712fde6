"""The thread-safe reduction: one parameter's gradient summed over a batch, with ``prange``.

The hh section's weight gradient of every step of every document of a batch,
summed::

    d_scaled_hh[i, j] += sum over b, t of delta[b, t, i] * state[b, t, j]

A ``prange`` over the documents, each thread adding into the same
``d_scaled_hh[i, j]``, loses updates when two threads read, add and write an
entry at once: a race.  The grader runs the kernel on 1 and on 2 threads, on
several seeds, twice each, in float64 and float32.  It fails a kernel whose
answer on 2 threads differs from the answer on 1 thread beyond round-off
("two threads write d_scaled_hh[i, j] at once (a race)"), or whose two runs
on 2 threads differ at all (the order of its sum depends on the schedule: it
is not reproducible).  The right answer is the NumPy sum, in float64, here in
the grading process.

A race fails the kernel even when no run happens to show it: before any run,
:func:`~normrnn.exercises.cython.race_scan.shared_writes` reads the source for
a write in a ``prange`` (or ``parallel()``) body that no thread owns, and names
its line.
"""


import numpy as np

from .. import child as codec
from ... import gradcheck
from ..grading import Grade, check_seed
from ..isolated import MEMORY, SECONDS
from ..sandbox import run_child
from .build import CompileFailed, build
from .grade import CHILD, KernelGrade, TIMEOUT, _channel, _crash
from .purity import purity
from .race_scan import shared_writes
from .source import functions
from .speed import judge_speed

__all__ = ["NAME", "KERNEL", "WRAPPER", "THREADS", "skeleton", "solution", "grade_race",
           "reference_sum"]

#: The exercise's name (its file is ``batch_hh.pyx``).
NAME = "batch_hh"
KERNEL, WRAPPER = "_batch_hh_backward", "batch_hh_backward"

#: The thread counts the kernel is run on.
THREADS = (1, 2)

#: (B, T, H) of the graded batches: large enough that two threads overlap in time.
SIZES = (8, 64, 64)
#: Seeds (beyond the one given) of the batches, and runs per thread count and batch.
SEEDS, RUNS = 3, 4

_SIGNATURE = '''cdef void _batch_hh_backward(const floating[:, :, ::1] delta,  # IN  (B, T, H)
                             const floating[:, :, ::1] state,  # IN  (B, T, H)
                             int threads,                      # IN  threads of the prange
                             floating[:, ::1] d_scaled_hh      # INOUT (H, H)
                             ) noexcept nogil:
    """d_scaled_hh[i, j] += sum_b sum_t delta[b, t, i] state[b, t, j], on ``threads`` threads."""
'''

_WRAPPER = '''# The grader calls this wrapper: keep its name and arguments.
def batch_hh_backward(const floating[:, :, ::1] delta,  # IN  (B, T, H)
                      const floating[:, :, ::1] state,  # IN  (B, T, H)
                      int threads,                      # IN
                      floating[:, ::1] d_scaled_hh):    # INOUT (H, H)
    """d_scaled_hh += the hh gradient of every step of every document.  Unchecked."""
    with nogil:
        _batch_hh_backward(delta, state, threads, d_scaled_hh)
'''

_INTRO = """\
# Exercise (Cython): a thread-safe reduction, the kernel _batch_hh_backward.
#
# The hh section's weight gradient of every step t of every document b of a
# batch, summed:
#
#     d_scaled_hh[i, j] += sum over b, t of delta[b, t, i] * state[b, t, j]
#
# Use prange (cython.parallel) with num_threads=threads.  The grader runs your
# kernel on 1 and on 2 threads, several times, and fails it when the answer
# depends on the number of threads beyond round-off, or differs between two
# runs: two threads that add into the same d_scaled_hh[i, j] at once lose
# updates (a race).  Give each thread entries of its own to write.
#
#     normrnn exercise check . --section batch_hh

from cython cimport floating
from cython.parallel cimport prange
"""

_SOLUTION_BODY = '''    cdef Py_ssize_t i, j, b, t
    cdef floating d
    # each thread owns whole rows i of d_scaled_hh: no entry is written by two threads,
    # and every entry is summed in the same order (b, t) on any number of threads
    for i in prange(d_scaled_hh.shape[0], num_threads=threads, schedule="static"):
        for b in range(delta.shape[0]):
            for t in range(delta.shape[1]):
                d = delta[b, t, i]
                for j in range(d_scaled_hh.shape[1]):
                    d_scaled_hh[i, j] += d * state[b, t, j]
'''


def skeleton():
    """The text of ``batch_hh.pyx``, to fill in."""
    from .templates import NOT_STARTED
    return f"{_INTRO}\n\n{_SIGNATURE}    {NOT_STARTED}\n\n\n{_WRAPPER}"


def solution():
    """A right answer: a ``prange`` over the rows of ``d_scaled_hh``."""
    return f"{_INTRO}\n\n{_SIGNATURE}{_SOLUTION_BODY}\n\n{_WRAPPER}"


def reference_sum(delta, state):
    """sum_b sum_t delta[b, t] ⊗ state[b, t], in float64."""
    return np.einsum("bti,btj->ij", np.asarray(delta, np.float64), np.asarray(state, np.float64))


def _batches(seed):
    rng = np.random.default_rng([seed, 2024])
    B, T, H = SIZES
    return [(rng.normal(size=(B, T, H)), rng.uniform(-1 / 3, 1, size=(B, T, H)))
            for _ in range(SEEDS)]


def _error(got, want):
    scale = np.abs(want).max(initial=0.0)
    return float(np.abs(got - want).max(initial=0.0) / scale) if scale > 0 else 0.0


def grade_race(folder, *, seed=0, cache=None, seconds=SECONDS, memory=MEMORY):
    """Compile ``folder/batch_hh.pyx`` with OpenMP and grade it on 1 and 2 threads.

    Parameters
    ----------
    folder : str or Path
    seed : int, optional
    cache : str or Path, optional
    seconds, memory : optional
        The child's limits.

    Returns
    -------
    KernelGrade
    """
    from pathlib import Path
    seed = check_seed(seed)
    folder = Path(folder).resolve()
    path = folder / f"{NAME}.pyx"
    if not path.is_file():
        return KernelGrade(NAME, Grade(NAME, False, message=f"not started (no {path.name})"))
    source = path.read_text(encoding="utf-8", errors="replace")
    if KERNEL not in functions(source):
        return KernelGrade(NAME, Grade(NAME, False, message=f"{path.name} defines no kernel "
                                       f"{KERNEL} (the function graded)"))
    if _not_started_race(source):
        return KernelGrade(NAME, Grade(NAME, False, message="not started (the kernel still "
                                       "holds the skeleton's `pass` line)"))
    try:
        built = build(path, cache=cache, openmp=True)
    except CompileFailed as error:
        return KernelGrade(NAME, compile_error=str(error))
    pure = purity(built.annotation.read_text(encoding="utf-8", errors="replace"), source, KERNEL)
    calls = []
    for delta, state in _batches(seed):
        for dtype in (np.float64, np.float32):
            start = np.zeros((SIZES[2], SIZES[2]), dtype=dtype)
            for threads in THREADS:
                for _ in range(RUNS // 2):
                    calls.append((threads, dtype, delta, state,
                                  [delta.astype(dtype), state.astype(dtype), threads], start))
    request = {"module": str(built.module), "modname": built.name, "wrapper": WRAPPER,
               "timeout": TIMEOUT, "preload": [],
               "calls": [{"args": [codec.encode_argument(a) for a in args],
                          "starts": [[codec.encode_array(start)], [codec.encode_array(start)]]}
                         for _, _, _, _, args, start in calls]}
    request["speed"], answer = _speed_request(seed)
    run = run_child(request, folder=folder, seconds=seconds, memory=memory, script=CHILD)
    load_failure, outcomes, speed_report = _channel(run)
    if load_failure is not None:
        return KernelGrade(NAME, Grade(NAME, False, message=load_failure), purity=pure)
    verdict = _verdict(calls, outcomes, run, shared_writes(source))
    speed = judge_speed(NAME, speed_report, answer, read=_timed) if verdict.passed else None
    return KernelGrade(NAME, verdict, purity=pure, speed=speed, speed_level=False)


def _speed_request(seed):
    """The child's ``speed`` request: the kernel on 2 threads against the NumPy sum."""
    rng = np.random.default_rng([seed, 128, 99])
    B, T, H = SIZES[0], SIZES[1], 128
    delta, state = rng.normal(size=(B, T, H)), rng.uniform(-1 / 3, 1, size=(B, T, H))
    request = {"args": [codec.encode_argument(delta), codec.encode_argument(state),
                        codec.encode_argument(max(THREADS))],
               "twin_args": [codec.encode_argument(delta), codec.encode_argument(state)],
               "outputs": [codec.encode_array(np.zeros((H, H)))],
               "twin": ["normrnn.exercises.cython.race", "reference_sum"], "own": None}
    return request, {"d_scaled_hh": reference_sum(delta, state)}


def _timed(report):
    (value,) = [codec.decode_array(o) for o in report["outputs"]]
    return {"d_scaled_hh": value.astype(np.float64)}


def _not_started_race(source):
    from .templates import NOT_STARTED
    return NOT_STARTED in functions(source)[KERNEL][1]


def _runs(calls, outcomes):
    """{(batch, dtype): {threads: [answers]}}; raises Malformed on a bad outcome."""
    found = {}
    for i, (threads, dtype, delta, _, _, _) in enumerate(calls):
        outcome = outcomes[i]
        if "failure" in outcome:
            raise _Failed(str(outcome["failure"]))
        for encoded in outcome["outputs"]:
            (value,) = [codec.decode_array(e) for e in encoded]
            if value.dtype != dtype or value.shape != (SIZES[2], SIZES[2]):
                raise codec.Malformed("d_scaled_hh changed shape or dtype")
            key = (id(delta), np.dtype(dtype).name)
            found.setdefault(key, {}).setdefault(threads, []).append(value)
    return found


class _Failed(Exception):
    pass


def _race(shared):
    """"two threads write d_scaled_hh[i, j] at once (a race)", with the line the scan found."""
    if not shared:
        return "two threads write d_scaled_hh[i, j] at once (a race)"
    write = shared[0]
    where = f"line {write.line}" + (f" (in {write.via})" if write.via.endswith(tuple("0123456789)"))
                                    else "")
    loop = (f"the prange over {write.variable}" if write.variable != "threadid()"
            else "the parallel block")
    if write.via.startswith("handed to"):
        what = f"{where} hands {write.target} to {write.via[len('handed to '):]}"
    else:
        what = f"{where} writes {write.target} from every thread of {loop} (line {write.loop})"
    return f"two threads write {write.target} at once (a race): {what}"


def _verdict(calls, outcomes, run, shared=()):
    """The correctness Grade: right on 1 thread, the same on 2, reproducible."""
    total = len(calls) * 2
    if len(outcomes) < len(calls):
        return Grade(NAME, False, message=_crash(run), cases_run=total)
    try:
        runs = _runs(calls, outcomes)
    except _Failed as failure:
        return Grade(NAME, False, message=str(failure), cases_run=total)
    except (codec.Malformed, KeyError, TypeError, ValueError) as exc:
        return Grade(NAME, False, message=f"the grading process received a malformed "
                     f"answer ({exc})", cases_run=total)
    wants = {(id(c[2]), np.dtype(c[1]).name): reference_sum(c[2], c[3]) for c in calls}
    wrong, racy, unreproducible, passed = [], [], [], 0
    for key, by_threads in runs.items():
        dtype = key[1]
        tolerance = gradcheck.TOLERANCES[np.dtype(dtype)]
        want = wants[key]
        one = [_error(v.astype(np.float64), want) for v in by_threads[1]]
        two = [_error(v.astype(np.float64), want) for v in by_threads[2]]
        if max(one) > tolerance:
            wrong.append((dtype, max(one)))
        elif max(two) > tolerance or max(_error(a.astype(np.float64), b.astype(np.float64))
                                         for a in by_threads[1] for b in by_threads[2]) > tolerance:
            racy.append((dtype, max(two), max(one)))
        elif len({v.tobytes() for v in by_threads[2]}) > 1:
            unreproducible.append(dtype)
        else:
            passed += len(one) + len(two)
            continue
    if wrong:
        dtype, error = wrong[0]
        message = (f"wrong on 1 thread already: relative error {error:.1e} in {dtype} "
                   "(compare with the sum over b and t of delta[b, t, i] * state[b, t, j])")
    elif racy:
        dtype, error, alone = racy[0]
        message = (f"{_race(shared)}; on 2 threads the answer is off by {error:.1e} "
                   f"(relative, {dtype}), on 1 thread by {alone:.1e}; give each thread "
                   "entries of its own (a prange over i)")
    elif unreproducible and shared:
        message = (f"{_race(shared)}; two runs on 2 threads give different answers (in "
                   f"{unreproducible[0]}; these runs lost no update, the next may); give each "
                   "thread entries of its own (a prange over i)")
    elif shared:
        # the scan alone fails it: no run has to collide for a race to be one
        message = (f"{_race(shared)}; these runs happened to give the right answer, the "
                   "next may not; give each thread entries of its own (a prange over i, or "
                   "a buffer per threadid())")
    elif unreproducible:
        message = ("not reproducible: two runs on 2 threads give different bits (in "
                   f"{unreproducible[0]}); the order of the sum depends on the schedule: fix it")
    else:
        message = ""
    return Grade(NAME, not message, message=message, cases_run=total, cases_passed=passed)
