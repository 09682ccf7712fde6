# Where a kernel's time goes: one clock read between two phases of a pass,
# the time since the last read added into that phase's entry of an array.
# normrnn.bench.phases reads it (the lockstep kernel's ``phase_seconds``);
# an untimed pass (no array, or no _Laps at all) reads no clock.

from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

cdef enum:
    _PREPARE = 0         # S, S^T, the schedule, the input term of each distinct token
    _STEP_PRODUCTS = 1   # S s_t forward, S^T delta_t backward (and each step's input copy)
    _ACTIVATION = 2      # f and f' forward, delta *= f'(a) backward
    _LOSS_PRODUCTS = 3   # Z = S E^T, dE += dZ^T S, dZ E
    _SOFTMAX = 4         # the softmax and cross-entropy of every scored row
    _PARAMETER_SUMS = 5  # deltas summed by token, dS = Delta^T S, dW_ih, dE (input), dW_hh
    _OTHER = 6           # copies between the phases (E^T dz into the deltas, s_0, last states)
    _PHASE_COUNT = 7


cdef struct _Laps:
    double *seconds      # (_PHASE_COUNT,) seconds added to, or NULL: not timed
    double last          # the clock at the last lap


cdef inline double _clock() noexcept nogil:
    cdef timespec now
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec + 1e-9 * now.tv_nsec


cdef inline void _lap(_Laps *laps, int phase) noexcept nogil:
    """Adds the time since the last lap to ``phase``; nothing when not timed (or ``laps`` NULL)."""
    cdef double now
    if laps != NULL and laps.seconds != NULL:
        now = _clock()
        laps.seconds[phase] += now - laps.last
        laps.last = now
