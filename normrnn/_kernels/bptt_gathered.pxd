# The helpers of bptt_gathered.pyx that the lockstep kernel (lockstep.pyx) shares: one
# document and a batch in lockstep make S, the inputs of their distinct tokens
# and the summed gradients the same way, and differ only in how they lay out
# the steps, and check for an interrupt the same way (_tick).

from cython cimport floating

from normrnn._kernels.laps cimport _Laps

cdef struct _Poller:
    Py_ssize_t work     # multiply-adds since the clock was last read
    double last         # when the GIL was last taken, monotonic seconds
    void *stop          # a threading.Event, or NULL

cdef _Poller _poller(void *stop) noexcept nogil
cdef int _tick(_Poller *poller, Py_ssize_t amount) except -1 nogil
cdef void *_stop_pointer(stop)

cdef Py_ssize_t _add_distinct(const int[::1] tokens, int[::1] slot, int[::1] distinct,
                              Py_ssize_t k) noexcept nogil
cdef void _transpose(const floating[:, ::1] a, floating[:, ::1] out) noexcept nogil
cdef void _scaled_hh(const floating[:, ::1] hh, const floating[::1] gain,
                     floating[:, ::1] scaled_hh, floating[:, ::1] scaled_hh_t) noexcept nogil
cdef void _distinct_inputs(const floating[:, ::1] embedding, const floating[:, ::1] ih,
                           const floating[::1] bias, const int[::1] distinct, Py_ssize_t k,
                           floating[:, ::1] embeddeds, floating[:, ::1] inputs) noexcept nogil
cdef void _token_sums_to_grads(const floating[:, ::1] embedding, const floating[:, ::1] ih,
                               const floating[:, ::1] hh, const floating[::1] gain,
                               const int[::1] distinct, Py_ssize_t k, Py_ssize_t n,
                               const floating[:, ::1] states, const floating[:, ::1] deltas,
                               floating[:, ::1] embeddeds, const floating[:, ::1] deltas_by_token,
                               floating[:, ::1] d_scaled_hh, floating[:, ::1] d_embedding,
                               floating[:, ::1] d_ih, floating[:, ::1] d_hh,
                               floating[::1] d_bias, floating[::1] d_gain) noexcept nogil
cdef double _score_rows(const floating[:, ::1] embedding, const floating[:, ::1] embedding_t,
                        const floating[:, ::1] states,
                        const int[::1] targets, floating[:, ::1] logits,
                        floating[:, ::1] d_embedding, floating[:, ::1] d_states_direct,
                        Py_ssize_t block_rows, _Laps *laps) noexcept nogil
