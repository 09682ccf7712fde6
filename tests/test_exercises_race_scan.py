"""The race scan: a write in a ``prange`` (or ``parallel()``) body that no thread owns
fails the thread-safe reduction by itself, wherever the learner puts it.

No compiling here: the scan reads the source.  (The compiled kernels, racy and
right, are graded in test_exercises_cython.py.)
"""

import numpy as np
import pytest

from normrnn.exercises import child as codec
from normrnn.exercises.cython import race
from normrnn.exercises.cython.race_scan import shared_writes

SIG = race._SIGNATURE


def kernel(body, helpers=""):
    """batch_hh.pyx with the kernel's ``body`` and ``helpers`` above it."""
    return f"{race._INTRO}\n{helpers}\n{SIG}{body}\n\n{race._WRAPPER}"


#: name -> (kernel body, helpers): every thread writes the same memory.
RACY = {}
RACY["racy_b"] = ('''    cdef Py_ssize_t i, j, b, t
    for b in prange(delta.shape[0], num_threads=threads):
        for t in range(delta.shape[1]):
            for i in range(d_scaled_hh.shape[0]):
                for j in range(d_scaled_hh.shape[1]):
                    d_scaled_hh[i, j] += delta[b, t, i] * state[b, t, j]''', "")
RACY["helper"] = ('''    cdef Py_ssize_t b
    for b in prange(delta.shape[0], num_threads=threads):
        _add(delta[b], state[b], d_scaled_hh)''', '''
cdef void _add(const floating[:, ::1] delta, const floating[:, ::1] state,
               floating[:, ::1] d_w) noexcept nogil:
    cdef Py_ssize_t i, j, t
    for t in range(delta.shape[0]):
        for i in range(d_w.shape[0]):
            for j in range(d_w.shape[1]):
                d_w[i, j] += delta[t, i] * state[t, j]
''')
RACY["pointer"] = ('''    cdef Py_ssize_t i, j, b, t, H = d_scaled_hh.shape[0]
    cdef floating* p = &d_scaled_hh[0, 0]
    for b in prange(delta.shape[0], num_threads=threads):
        for t in range(delta.shape[1]):
            for i in range(H):
                for j in range(H):
                    p[i * H + j] += delta[b, t, i] * state[b, t, j]''', "")
RACY["gil"] = ('''    cdef Py_ssize_t i, j, b, t
    for b in prange(delta.shape[0], num_threads=threads):
        with gil:
            for t in range(delta.shape[1]):
                for i in range(d_scaled_hh.shape[0]):
                    for j in range(d_scaled_hh.shape[1]):
                        d_scaled_hh[i, j] += delta[b, t, i] * state[b, t, j]''', "")
RACY["parallel"] = ('''    cdef Py_ssize_t i, j, b, t
    with parallel(num_threads=threads):
        for b in prange(delta.shape[0]):
            for t in range(delta.shape[1]):
                for i in range(d_scaled_hh.shape[0]):
                    for j in range(d_scaled_hh.shape[1]):
                        d_scaled_hh[i, j] += delta[b, t, i] * state[b, t, j]''', "")
RACY["cimported"] = ('''    cdef Py_ssize_t b, t
    for b in prange(delta.shape[0], num_threads=threads):
        for t in range(delta.shape[1]):
            _outer_add(delta[b, t], state[b, t], d_scaled_hh)''', "")
RACY["global"] = ('''    cdef Py_ssize_t b
    for b in prange(delta.shape[0], num_threads=threads):
        _count()''', '''
cdef double calls = 0

cdef void _count() noexcept nogil:
    global calls
    calls += 1
''')

#: name -> (kernel body, helpers): each thread writes memory of its own.
RIGHT = {}
RIGHT["solution"] = (race._SOLUTION_BODY, "")
RIGHT["threadid_buffer"] = ('''    cdef Py_ssize_t i, j, b, t, k, tid, H = d_scaled_hh.shape[0]
    cdef floating* work = <floating*> calloc(threads * H * H, sizeof(floating))
    for b in prange(delta.shape[0], num_threads=threads, schedule="static"):
        for t in range(delta.shape[1]):
            for i in range(H):
                for j in range(H):
                    work[threadid() * H * H + i * H + j] += delta[b, t, i] * state[b, t, j]
    for k in range(threads):
        for i in range(H):
            for j in range(H):
                d_scaled_hh[i, j] += work[k * H * H + i * H + j]
    free(work)''', "")
RIGHT["parallel_tid"] = ('''    cdef Py_ssize_t i, j, b, t, k, tid, H = d_scaled_hh.shape[0]
    cdef floating* work = <floating*> calloc(threads * H * H, sizeof(floating))
    cdef floating* mine
    with nogil, parallel(num_threads=threads):
        tid = threadid()
        mine = work + tid * H * H
        for b in prange(delta.shape[0], schedule="static"):
            for t in range(delta.shape[1]):
                for i in range(H):
                    for j in range(H):
                        mine[i * H + j] += delta[b, t, i] * state[b, t, j]
    free(work)''', "")
RIGHT["helper_rows"] = ('''    cdef Py_ssize_t i
    for i in prange(d_scaled_hh.shape[0], num_threads=threads):
        _row(delta, state, i, d_scaled_hh)''', '''
cdef void _row(const floating[:, :, ::1] delta, const floating[:, :, ::1] state, Py_ssize_t i,
               floating[:, ::1] d_w) noexcept nogil:
    cdef Py_ssize_t j, b, t
    cdef double tmp[4]
    tmp[0] = 0
    for b in range(delta.shape[0]):
        for t in range(delta.shape[1]):
            for j in range(d_w.shape[1]):
                d_w[i, j] += delta[b, t, i] * state[b, t, j]
''')


@pytest.mark.parametrize("name", sorted(RACY))
def test_a_racy_kernel_is_found_with_its_line(name):
    text = kernel(*RACY[name])
    found = shared_writes(text)
    assert found, name
    lines = text.splitlines()
    first = found[0]
    assert first.target.split("[")[0] in lines[first.line - 1], (name, first)
    assert "prange" in lines[first.loop - 1] or "parallel(" in lines[first.loop - 1]


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_kernel_whose_threads_write_their_own_memory_is_clean(name):
    assert shared_writes(kernel(*RIGHT[name])) == []


def test_the_helper_and_the_call_are_both_named():
    (found,) = shared_writes(kernel(*RACY["helper"]))
    assert found.target == "d_w[i, j]" and found.via.startswith("_add(), called at line")
    message = race._race([found])
    assert f"line {found.line} (in _add(), called at line" in message
    assert "two threads write d_w[i, j] at once (a race)" in message


def _outcomes(calls, value_of):
    """The child's outcomes: each call's two runs answer ``value_of(call)``."""
    return [{"outputs": [[codec.encode_array(value_of(call).astype(call[1]))]] * 2}
            for call in calls]


def _calls():
    delta, state = race._batches(0)[0]
    return [(threads, dtype, delta, state, None, None)
            for dtype in (np.float64, np.float32) for threads in race.THREADS]


def test_a_race_fails_even_when_every_run_gives_the_same_bits():
    calls = _calls()
    outcomes = _outcomes(calls, lambda c: race.reference_sum(c[2], c[3]))
    shared = shared_writes(kernel(*RACY["racy_b"]))
    verdict = race._verdict(calls, outcomes, run=None, shared=shared)
    assert not verdict.passed
    assert "two threads write d_scaled_hh[i, j] at once (a race): line 31" in verdict.message
    assert "happened to give the right answer" in verdict.message
    clean = race._verdict(calls, outcomes, run=None, shared=[])
    assert clean.passed, clean.message
