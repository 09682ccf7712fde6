"""Whole-document forward and BPTT, the fast way: gather, then multiply matrices.

Only two products per token are truly sequential: S s_t forward and S^T delta_t
backward (the docs' *Backpropagation through time* page).  Everything else is a sum over time of outer products,
or a product with a matrix that does not change along the document, so it is
gathered into matrix-matrix products (BLAS gemm), per parameter:

==========================  =====================================  ============
quantity                    per token (bptt_by_section.pyx)          here
==========================  =====================================  ============
W_ih u_t + b for all t      T-1 matvecs                            U W_ih^T
logits z_t, t >= m          T-m matvecs                            S_m E^T
dE (logits part)            T-m rank-1 updates dz ⊗ s              dZ^T S_m
E^T dz_t                    T-m matvecs                            dZ E
dW_ih                       T-1 rank-1 updates delta ⊗ u           D^T U
W_ih^T delta_t              T-1 matvecs                            D W_ih
dS                          T-1 rank-1 updates delta ⊗ s           Delta^T S
==========================  =====================================  ============

(Delta and S_m stack delta_t and s_t as rows.  The three products with E
run over all positions at once or on blocks of them, each block's softmax
between them while its rows are in cache, as :mod:`normrnn.kernel_choice`
decides: :func:`_score_rows`.)  The input u_t = f(E[x_t])
depends only on the token, as the notes' "preCompute" step says, so U has one
row per *distinct* token of the document (at most V, however long it is) and
D sums the deltas of each token's positions: the ih and embedding-activation
sections cost O(V H^2) per document instead of O(T H^2).

The two sequential products run in ``matvec.h``'s kernel, y += M^T x: S^T
delta_t reads S, and S s_t reads a transposed copy of S made once per
document.  Which of its variants runs is the one :mod:`normrnn.kernel_choice`
times for a step of one row, the first time a process runs a document of
that dtype and H (the same choice as a lockstep batch of one document).
f, f' and the softmax run in ``pointwise.h``'s vector loops (f and f' with
the bits of activation.pxd's, from one division, f'(a_t) kept by the forward
for the backward; the softmax with an exp of its own).  The
result equals the section-by-section BPTT up to the rounding of reordered
sums and of exp; the tests check that.  Memory is O(T (H + V) + V H + H^2)
per document, in a :class:`Workspace` that is reused from one document to the
next.

:mod:`normrnn._kernels.lockstep` runs the same passes for a batch of
documents.  It shares this module's helpers (``bptt_gathered.pxd``), and its argument
lists and workspace arrays repeat these, name for name, on purpose: the two
kernels read side by side, and differ only in how the steps are laid out.

**Interrupts.**  The sequential loops count their multiply-adds, look at the
clock every :data:`INTERRUPT_CLOCK_WORK` of them, and take the GIL for a
moment once :data:`INTERRUPT_POLL_SECONDS` have passed since they last did
(:func:`_tick`): Python's pending signal handlers run (Ctrl-C raises
``KeyboardInterrupt`` there, in the main thread), and a kernel given a
``stop`` event (a worker of :meth:`normrnn.NormRNN.batch_loss`) raises
:class:`Stopped` once it is set.  Polling by the clock, not by the work,
keeps the wait short on a busy machine, where a thread gets a small share of
a core, and bounds what the GIL costs when another thread holds it.  The check reads nothing the arithmetic
reads, so the results are bitwise those of a kernel without it.  The big
products over all positions are BLAS calls, which no check can enter.
"""

import numpy as np

from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating

from normrnn._kernels.activation cimport f
from normrnn._kernels.blas cimport gemm
from normrnn._kernels.laps cimport _LOSS_PRODUCTS, _Laps, _SOFTMAX, _clock, _lap
from normrnn._kernels.matvec cimport _matvec_t_add_variant
from normrnn._kernels.section_kernels cimport (
    _embedding_activation_backward, _gain_backward, _gain_forward, _row_normalise,
    _row_normalise_backward)
from normrnn._kernels.pointwise cimport _activate_and_grad, _softmax_cross_entropy, _times


cdef enum:
    _INTERRUPT_CLOCK_WORK = 1 << 18

cdef double _INTERRUPT_POLL_SECONDS = 0.01

#: Multiply-adds of a sequential loop between two looks at the clock (some
#: tens of microseconds of work; :func:`_tick`).
INTERRUPT_CLOCK_WORK = _INTERRUPT_CLOCK_WORK
#: Seconds between two checks for an interrupt, at least (:func:`_tick`).
INTERRUPT_POLL_SECONDS = _INTERRUPT_POLL_SECONDS


class Stopped(Exception):
    """Raised by a kernel whose ``stop`` event was set: its caller was interrupted."""


cdef int _poll(void *stop) except -1 nogil:
    """Take the GIL: run pending signal handlers, and raise :class:`Stopped` if ``stop`` is set.

    ``stop`` is a ``threading.Event`` or NULL.  Signal handlers run only in
    the main thread (elsewhere ``PyErr_CheckSignals`` does nothing), which is
    why a worker thread is stopped by the event its caller sets.
    """
    with gil:
        PyErr_CheckSignals()
        if stop != NULL and (<object> stop).is_set():
            raise Stopped("stopped: the caller was interrupted")
    return 0


cdef _Poller _poller(void *stop) noexcept nogil:
    """A loop's :class:`_Poller`, started now."""
    cdef _Poller poller
    poller.work = 0
    poller.last = _clock()
    poller.stop = stop
    return poller


cdef int _tick(_Poller *poller, Py_ssize_t amount) except -1 nogil:
    """Count ``amount`` multiply-adds; :func:`_poll` when the clock says it is time.

    The clock is read every :data:`INTERRUPT_CLOCK_WORK` multiply-adds, and
    the GIL taken once :data:`INTERRUPT_POLL_SECONDS` have passed since the last poll.
    """
    cdef double now
    poller.work += amount
    if poller.work < _INTERRUPT_CLOCK_WORK:
        return 0
    poller.work = 0
    now = _clock()
    if now - poller.last >= _INTERRUPT_POLL_SECONDS:
        poller.last = now
        _poll(poller.stop)
    return 0


cdef void *_stop_pointer(stop):
    """The ``stop`` argument of a ``def`` kernel as the loops take it: NULL for None."""
    return NULL if stop is None else <void *> stop


cdef Py_ssize_t _add_distinct(const int[::1] tokens,   # IN  (n,)
                              int[::1] slot,            # INOUT (V,) -1 for tokens not seen
                              int[::1] distinct,        # INOUT (>= k,)
                              Py_ssize_t k              # IN  how many are in distinct already
                              ) noexcept nogil:
    """Append the tokens of ``tokens`` not seen yet to distinct[:k], in order; returns the new k.

    slot[x] is the row of x in ``distinct``, -1 for a token not seen yet (the
    caller sets slot to -1 before the first call).
    """
    cdef Py_ssize_t t
    for t in range(tokens.shape[0]):
        if slot[tokens[t]] < 0:
            slot[tokens[t]] = <int> k
            distinct[k] = tokens[t]
            k += 1
    return k


cdef void _distinct_inputs(const floating[:, ::1] embedding,   # IN  (V, H)
                           const floating[:, ::1] ih,          # IN  (H, H)
                           const floating[::1] bias,           # IN  (H,)
                           const int[::1] distinct,            # IN  (>= k,) the tokens
                           Py_ssize_t k,
                           floating[:, ::1] embeddeds,         # OUT (>= k, H) u = f(E[x])
                           floating[:, ::1] inputs             # OUT (>= k, H) W_ih u + b
                           ) noexcept nogil:
    """inputs[r] = W_ih f(E[x]) + b for each x = distinct[r], r < k: U, then one product U W_ih^T."""
    cdef Py_ssize_t H = ih.shape[0], r, j
    for r in range(k):                               # U: u = f(E[x]) per distinct x
        for j in range(H):
            embeddeds[r, j] = f(embedding[distinct[r], j])
    gemm(False, True, <int> k, <int> H, <int> H, 1, &embeddeds[0, 0], <int> H, &ih[0, 0],
         <int> H, 0, &inputs[0, 0], <int> H)         # U W_ih^T
    for r in range(k):
        for j in range(H):
            inputs[r, j] += bias[j]                  # + b


cdef Py_ssize_t _input_terms(const floating[:, ::1] embedding,   # IN  (V, H)
                             const floating[:, ::1] ih,          # IN  (H, H)
                             const floating[::1] bias,           # IN  (H,)
                             const int[::1] tokens,              # IN  (n,) the tokens read
                             int[::1] slot,                      # OUT (V,)
                             int[::1] distinct,                  # OUT (>= k,)
                             floating[:, ::1] embeddeds,         # OUT (>= k, H) u = f(E[x])
                             floating[:, ::1] inputs             # OUT (>= k, H) W_ih u + b
                             ) noexcept nogil:
    """inputs[slot[x]] = W_ih f(E[x]) + b for every token x of ``tokens``; returns how many.

    embeddeds keeps u = f(E[x]), one row per distinct token.
    """
    cdef Py_ssize_t k
    slot[:] = -1
    k = _add_distinct(tokens, slot, distinct, 0)
    _distinct_inputs(embedding, ih, bias, distinct, k, embeddeds, inputs)
    return k


cdef int _recurrence_forward(int matvec,                           # IN  matvec.h's variant
                             const floating[:, ::1] scaled_hh_t,   # IN  (H, H) S^T
                             const int[::1] tokens,               # IN  (T,)
                             const int[::1] slot,                 # IN  (V,)
                             const floating[:, ::1] inputs,       # IN  (k, H)
                             floating[:, ::1] states,             # INOUT (T, H) s_0 on entry
                             floating[:, ::1] middles,            # OUT (T-1, H) f'(a_t)
                             void *stop                           # IN  threading.Event or NULL
                             ) except -1 nogil:
    """s_{t+1} = f(a_t), a_t = (W_ih u_t + b) + S s_t, from states[0]; keeps f'(a_t).

    Row t of ``middles`` holds a_t until f is applied, then f'(a_t), the
    notes' activationGradMuls: f and f' share their one division.
    """
    cdef Py_ssize_t n = tokens.shape[0] - 1, H = scaled_hh_t.shape[0], t, j, r
    cdef _Poller poller = _poller(stop)
    for t in range(n):
        _tick(&poller, H * H)
        r = slot[tokens[t]]                          # the row of x_t in inputs
        for j in range(H):
            middles[t, j] = inputs[r, j]
        _matvec_t_add_variant(matvec, H, H, &scaled_hh_t[0, 0], &states[t, 0],
                              &middles[t, 0])        # a_t += S s_t  (sequential)
        _activate_and_grad(H, &middles[t, 0], &states[t + 1, 0])  # s_{t+1} = f(a_t), f'(a_t)
    return 0


cdef void _transpose(const floating[:, ::1] a,     # IN  (n, p)
                     floating[:, ::1] out          # OUT (p, n)
                     ) noexcept nogil:
    """out = a^T, in 16 x 16 tiles that stay in L1."""
    cdef Py_ssize_t n = a.shape[0], p = a.shape[1], i0, j0, i, j
    for i0 in range(0, n, 16):
        for j0 in range(0, p, 16):
            for i in range(i0, min(i0 + 16, n)):
                for j in range(j0, min(j0 + 16, p)):
                    out[j, i] = a[i, j]


cdef void _scaled_hh(const floating[:, ::1] hh,      # IN  (H, H)
                     const floating[::1] gain,       # IN  (H,) or None
                     floating[:, ::1] scaled_hh,     # OUT (H, H) S
                     floating[:, ::1] scaled_hh_t    # OUT (H, H) S^T
                     ) noexcept nogil:
    """S (the notes' row normalisation, or the learned gain's) and its transpose."""
    if gain is None:
        _row_normalise(hh, scaled_hh)
    else:
        _gain_forward(hh, gain, scaled_hh)
    _transpose(scaled_hh, scaled_hh_t)


cdef Py_ssize_t _forward(int matvec,                         # IN  matvec.h's variant
                         const floating[:, ::1] embedding,   # IN  (V, H)
                         const floating[:, ::1] ih,          # IN  (H, H)
                         const floating[:, ::1] hh,          # IN  (H, H)
                         const floating[::1] bias,           # IN  (H,)
                         const floating[::1] gain,           # IN  (H,) or None
                         const int[::1] tokens,              # IN  (T,)
                         floating[:, ::1] scaled_hh,         # OUT (H, H) S
                         floating[:, ::1] scaled_hh_t,       # OUT (H, H) S^T
                         int[::1] slot,                      # OUT (V,)
                         int[::1] distinct,                  # OUT (>= k,)
                         floating[:, ::1] embeddeds,         # OUT (>= k, H)
                         floating[:, ::1] inputs,            # OUT (>= k, H)
                         floating[:, ::1] states,            # INOUT (T, H) s_0 on entry
                         floating[:, ::1] middles,           # OUT (T-1, H)
                         void *stop                          # IN  threading.Event or NULL
                         ) except -1 nogil:
    """The forward pass: S and S^T, the inputs per distinct token, then the states.

    Returns the number of distinct tokens among x_0 .. x_{T-2} (see :func:`_input_terms`).
    S is the notes' row normalisation, or the learned gain's when ``gain`` is
    not None: once per document, so the gain costs nothing per token.
    """
    cdef Py_ssize_t n = max(tokens.shape[0] - 1, 0), k
    _scaled_hh(hh, gain, scaled_hh, scaled_hh_t)
    k = _input_terms(embedding, ih, bias, tokens[:n], slot, distinct, embeddeds, inputs)
    _recurrence_forward(matvec, scaled_hh_t, tokens, slot, inputs, states, middles, stop)
    return k

cdef double _score_rows(const floating[:, ::1] embedding,     # IN  (V, H)
                        const floating[:, ::1] embedding_t,   # IN  (H, V) E^T
                        const floating[:, ::1] states,        # IN  (>= n, H) row i: state i
                        const int[::1] targets,               # IN  (n,) token state i predicts, or -1
                        floating[:, ::1] logits,              # OUT (>= n, V) z, then dz
                        floating[:, ::1] d_embedding,         # INOUT (V, H) += dZ^T S
                        floating[:, ::1] d_states_direct,     # OUT (>= n, H) E^T dz: dZ E
                        Py_ssize_t block_rows,                # IN  rows per block; 0: all in one
                        _Laps *laps                           # INOUT where the time goes, or NULL
                        ) noexcept nogil:
    """The summed loss of n = len(targets) scored states; dz, dE += dZ^T S and dZ E of each.

    A target of -1 (a title position of a lockstep batch) scores nothing:
    its dz is 0, and so is its E^T dz.  Block by block of ``block_rows``
    states: Z = S E^T, the softmax, dZ E and dE += dZ^T S.  Blocks of a few
    dozen rows stay in cache from one pass to the next, and OpenBLAS
    multiplies so small a block without packing it, on CPUs for which it has
    such kernels (AVX-512); elsewhere one block of every row, four products
    over all of them, is faster.  :mod:`normrnn.kernel_choice` chooses.
    Z is S times a copy of E^T: OpenBLAS's small kernels ran markedly
    faster on a matrix as it is stored than on E transposed.  The one-document
    kernel and the lockstep one both score here, so a document gets the same
    bits either way.
    """
    cdef Py_ssize_t n = targets.shape[0], V = embedding.shape[0], H = embedding.shape[1]
    cdef Py_ssize_t r0 = 0, rows, r, j
    cdef double loss = 0
    if block_rows <= 0:
        block_rows = n
    while r0 < n:
        rows = min(block_rows, n - r0)
        gemm(False, False, <int> rows, <int> V, <int> H, 1, &states[r0, 0], <int> H,
             &embedding_t[0, 0], <int> V, 0, &logits[r0, 0], <int> V)         # Z = S E^T
        _lap(laps, _LOSS_PRODUCTS)
        for r in range(r0, r0 + rows):                                      # dZ = softmax(Z) - onehot
            if targets[r] >= 0:
                loss += _softmax_cross_entropy(logits[r], targets[r])
            else:
                for j in range(V):
                    logits[r, j] = 0
        _lap(laps, _SOFTMAX)
        gemm(False, False, <int> rows, <int> H, <int> V, 1, &logits[r0, 0], <int> V,
             &embedding[0, 0], <int> H, 0, &d_states_direct[r0, 0], <int> H)  # E^T dz: dZ E
        gemm(True, False, <int> V, <int> H, <int> rows, 1, &logits[r0, 0], <int> V,
             &states[r0, 0], <int> H, 1, &d_embedding[0, 0], <int> H)         # dE += dZ^T S
        _lap(laps, _LOSS_PRODUCTS)
        r0 += rows
    return loss


cdef int _backward_through_time(int matvec,                           # IN  matvec.h's variant
                                const floating[:, ::1] scaled_hh,    # IN  (H, H) S
                                int m,
                                const floating[:, ::1] middles,      # IN  (T-1, H) f'(a_t)
                                const floating[:, ::1] d_states_direct,  # IN  (T-m, H) E^T dz
                                floating[:, ::1] deltas,             # OUT (T-1, H) delta_t
                                void *stop                           # IN  threading.Event or NULL
                                ) except -1 nogil:
    """delta_{t-1} = (E^T dz_t + S^T delta_t) * f'(a_{t-1}), t = T-1 down to 1."""
    cdef Py_ssize_t n = middles.shape[0], H = scaled_hh.shape[0], t, j
    cdef _Poller poller = _poller(stop)
    for t in range(n, 0, -1):
        _tick(&poller, H * H)
        for j in range(H):                           # g_t = E^T dz_t (0 in the title)
            deltas[t - 1, j] = d_states_direct[t - m, j] if t >= m else 0
        if t < n:                                    #     + S^T delta_t  (sequential)
            _matvec_t_add_variant(matvec, H, H, &scaled_hh[0, 0], &deltas[t, 0],
                                  &deltas[t - 1, 0])
        _times(H, &middles[t - 1, 0], &deltas[t - 1, 0])   # delta = g_t f'(a_{t-1})
    return 0


cdef void _token_sums_to_grads(const floating[:, ::1] embedding,    # IN  (V, H)
                               const floating[:, ::1] ih,           # IN  (H, H)
                               const floating[:, ::1] hh,           # IN  (H, H)
                               const floating[::1] gain,            # IN  (H,) or None
                               const int[::1] distinct,             # IN  (k,)
                               Py_ssize_t k,
                               Py_ssize_t n,
                               const floating[:, ::1] states,       # IN  (>= n, H) s of each delta's step
                               const floating[:, ::1] deltas,       # IN  (>= n, H)
                               floating[:, ::1] embeddeds,          # INOUT (k, H) U on entry, dU after
                               const floating[:, ::1] deltas_by_token,  # IN  (k, H) D
                               floating[:, ::1] d_scaled_hh,        # OUT (H, H) dS
                               floating[:, ::1] d_embedding,        # INOUT (V, H)
                               floating[:, ::1] d_ih,               # INOUT (H, H)
                               floating[:, ::1] d_hh,               # INOUT (H, H)
                               floating[::1] d_bias,                # INOUT (H,)
                               floating[::1] d_gain                 # INOUT (H,) or None
                               ) noexcept nogil:
    """From D (the deltas summed by token) and the n rows of deltas and states, every sum.

    db += sum of D's rows; dW_ih += D^T U; dU = D W_ih, then dE[x] += du_x * f'(E[x]);
    dS = Delta^T S over the n rows; then dW_hh (and dg) through the row
    normalisation, or the learned gain, once.  The per-document kernel and
    the lockstep one differ only in how they build D and lay out the rows.
    """
    cdef Py_ssize_t H = hh.shape[0], r, j
    for r in range(k):                               # db += sum_t delta_t
        for j in range(H):
            d_bias[j] += deltas_by_token[r, j]
    gemm(True, False, <int> H, <int> H, <int> k, 1, &deltas_by_token[0, 0], <int> H,
         &embeddeds[0, 0], <int> H, 1, &d_ih[0, 0], <int> H)          # dW_ih += D^T U
    # U is not needed any more: embeddeds now holds dU = D W_ih
    gemm(False, False, <int> k, <int> H, <int> H, 1, &deltas_by_token[0, 0], <int> H,
         &ih[0, 0], <int> H, 0, &embeddeds[0, 0], <int> H)
    for r in range(k):                               # dE[x] += du_x * f'(E[x])
        _embedding_activation_backward(embedding, distinct[r], embeddeds[r], d_embedding)
    gemm(True, False, <int> H, <int> H, <int> n, 1, &deltas[0, 0], <int> H,
         &states[0, 0], <int> H, 0, &d_scaled_hh[0, 0], <int> H)      # dS = Delta^T S
    if gain is None:                                 # once per call
        _row_normalise_backward(hh, d_scaled_hh, d_hh)
    else:
        _gain_backward(hh, gain, d_scaled_hh, d_hh, d_gain)


cdef void _parameter_grads(const floating[:, ::1] embedding,    # IN  (V, H)
                           const floating[:, ::1] ih,           # IN  (H, H)
                           const floating[:, ::1] hh,           # IN  (H, H)
                           const floating[::1] gain,            # IN  (H,) or None
                           const int[::1] tokens,               # IN  (T-1,) x_0 .. x_{T-2}
                           const int[::1] slot,                 # IN  (V,)
                           const int[::1] distinct,             # IN  (k,)
                           Py_ssize_t k,
                           const floating[:, ::1] states,       # IN  (T, H)
                           const floating[:, ::1] deltas,       # IN  (T-1, H)
                           floating[:, ::1] embeddeds,          # INOUT (k, H) U on entry, dU after
                           floating[:, ::1] deltas_by_token,    # OUT (k, H) D
                           floating[:, ::1] d_scaled_hh,        # OUT (H, H) dS
                           floating[:, ::1] d_embedding,        # INOUT (V, H)
                           floating[:, ::1] d_ih,               # INOUT (H, H)
                           floating[:, ::1] d_hh,               # INOUT (H, H)
                           floating[::1] d_bias,                # INOUT (H,)
                           floating[::1] d_gain                 # INOUT (H,) or None
                           ) noexcept nogil:
    """The sums over time of the bias, ih, embedding-activation and hh sections.

    ``tokens`` are x_0 .. x_{T-2}, the inputs of delta_0 .. delta_{T-2};
    ``slot``, ``distinct``, ``k`` and ``embeddeds`` (U) are as :func:`_input_terms`
    left them.  ``gain`` and ``d_gain`` are None for the notes' fixed 1/H.
    Builds D, then hands its arguments on to :func:`_token_sums_to_grads`,
    which is why the two argument lists repeat each other.
    """
    cdef Py_ssize_t n = deltas.shape[0], H = hh.shape[0], t, r, j
    for r in range(k):
        for j in range(H):
            deltas_by_token[r, j] = 0
    for t in range(n):                               # D[x] = sum of delta_t where x_t = x
        r = slot[tokens[t]]
        for j in range(H):
            deltas_by_token[r, j] += deltas[t, j]
    _token_sums_to_grads(embedding, ih, hh, gain, distinct, k, n, states, deltas, embeddeds,
                         deltas_by_token, d_scaled_hh, d_embedding, d_ih, d_hh, d_bias, d_gain)


def _loss_block_rows_for(dtype, H, V):
    """Rows per block of :func:`_score_rows` for hidden size H and V tokens (0: one block).

    :func:`normrnn.kernel_choice.loss_block_rows`'s choice, kept for the
    process, the same for a lockstep batch of any size.
    """
    from normrnn import kernel_choice     # imports this module: not at load time
    return kernel_choice.loss_block_rows(dtype, H, V)


def _scoring_arrays(const floating[:, ::1] embedding, Py_ssize_t n):
    """What :func:`_score_rows` reads and writes besides its inputs, for n rows, fresh.

    (E^T filled, dZ, dE zeroed, dZ E): for :func:`_score` and :func:`_time_scoring`.
    """
    cdef Py_ssize_t V = embedding.shape[0], H = embedding.shape[1]
    dtype = np.asarray(embedding).dtype
    embedding_t = np.empty((H, V), dtype=dtype)
    cdef floating[:, ::1] out = embedding_t
    _transpose(embedding, out)
    return (embedding_t, np.empty((n, V), dtype=dtype), np.zeros((V, H), dtype=dtype),
            np.empty((n, H), dtype=dtype))


def _score(const floating[:, ::1] embedding, const floating[:, ::1] states,
           const int[::1] targets, Py_ssize_t block_rows):
    """:func:`_score_rows` on fresh arrays, for tests: (loss, dZ, dE, dZ E).

    Trusts its caller as the kernel does: states (>= n, H), targets in
    [-1, V), n = len(targets).
    """
    arrays = _scoring_arrays(embedding, targets.shape[0])
    cdef floating[:, ::1] embedding_t = arrays[0], z = arrays[1], de = arrays[2]
    cdef floating[:, ::1] dsd = arrays[3]
    loss = _score_rows(embedding, embedding_t, states, targets, z, de, dsd, block_rows, NULL)
    return (loss,) + arrays[1:]


def _time_scoring(const floating[:, ::1] embedding, const floating[:, ::1] states,
                  const int[::1] targets, block_rows, int repeats):
    """The fastest of ``repeats`` timings of :func:`_score_rows`, per block size, in seconds.

    The repeats go round the block sizes in turn (0: one block), so that a
    slow moment of the machine hits them all alike; the first round warms up.
    """
    from time import perf_counter
    cdef Py_ssize_t rows
    arrays = _scoring_arrays(embedding, targets.shape[0])
    cdef floating[:, ::1] embedding_t = arrays[0], logits = arrays[1], d_embedding = arrays[2]
    cdef floating[:, ::1] d_states_direct = arrays[3]
    best = [float("inf")] * len(block_rows)
    for repeat in range(repeats + 1):
        for i, size in enumerate(block_rows):
            rows = size
            start = perf_counter()
            with nogil:
                _score_rows(embedding, embedding_t, states, targets, logits, d_embedding,
                            d_states_direct, rows, NULL)
            if repeat > 0:
                best[i] = min(best[i], perf_counter() - start)
    return best


def _matvec_for(dtype, H):
    """matvec.h's variant for one document of hidden size H.

    The one :mod:`normrnn.kernel_choice` times, and keeps for the process,
    for a step of one row: a lockstep batch of one document runs it too.
    """
    from normrnn import kernel_choice     # imports the kernels: not at load time
    return kernel_choice.choose(dtype, H, 1)[1]


def _aligned_empty(shape, dtype, alignment=64):
    """An uninitialised C-contiguous array whose data starts on a cache line.

    NumPy only promises 16-byte alignment; a 64-byte vector load from an
    address that is not a multiple of 64 straddles two cache lines, which
    makes ``matvec.h``'s loads half as fast.
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    buffer = np.empty(size + alignment, dtype=np.uint8)
    start = -buffer.ctypes.data % alignment
    return buffer[start:start + size].view(dtype).reshape(shape)


def _allocate_fixed(workspace, vocab_size, hidden_size, dtype):
    """The scratch arrays whose size does not depend on the documents, for both workspaces.

    ``key`` (V, H, dtype); S and S^T, on a cache line each since the
    sequential products read them whole at every step; dS; and ``slot``,
    the row of each token id among the distinct tokens.
    """
    workspace.key = (vocab_size, hidden_size, np.dtype(dtype))
    square = (hidden_size, hidden_size)
    workspace.scaled_hh = _aligned_empty(square, dtype)            # S
    workspace.scaled_hh_t = _aligned_empty(square, dtype)          # S^T
    workspace.embedding_t = np.empty((hidden_size, vocab_size), dtype=dtype)  # E^T
    workspace.d_scaled_hh = np.empty(square, dtype=dtype)          # dS
    workspace.slot = np.empty(vocab_size, dtype=np.int32)          # row of each token


class Workspace:
    """Scratch arrays of the fast BPTT, kept from one document to the next.

    Allocating them anew for every document costs fresh pages and their page
    faults, about a tenth of the time at T = 256; a workspace grows to the
    longest document it has seen and is then reused.  Not thread-safe: use
    one per thread (:class:`normrnn.NormRNN` keeps one per thread).

    Parameters
    ----------
    vocab_size, hidden_size : int
        V and H.
    dtype : {numpy.float64, numpy.float32}
    """

    def __init__(self, vocab_size, hidden_size, dtype):
        _allocate_fixed(self, vocab_size, hidden_size, dtype)
        self.rows = 0
        self.reserve(1)

    def reserve(self, rows):
        """Make room for documents of up to ``rows`` tokens."""
        if rows <= self.rows:
            return
        V, H, dtype = self.key
        self.rows = max(rows, 2 * self.rows)
        tokens = min(V, self.rows)        # a document has at most this many distinct tokens
        self.distinct = np.empty(tokens, dtype=np.int32)
        self.embeddeds = np.empty((tokens, H), dtype=dtype)        # u = f(E[x]), then du
        self.inputs = np.empty((tokens, H), dtype=dtype)           # W_ih u + b
        self.deltas_by_token = np.empty((tokens, H), dtype=dtype)  # D: deltas summed by token
        self.middles = np.empty((self.rows, H), dtype=dtype)       # a_t, then f'(a_t)
        self.deltas = np.empty((self.rows, H), dtype=dtype)        # delta_t
        self.logits = np.empty((self.rows, V), dtype=dtype)        # z_t, then dz_t
        self.d_states_direct = np.empty((self.rows, H), dtype=dtype)  # E^T dz_t


cdef double _document(const floating[:, ::1] embedding,     # IN  (V, H)
                      const floating[:, ::1] ih,            # IN  (H, H)
                      const floating[:, ::1] hh,            # IN  (H, H)
                      const floating[::1] bias,             # IN  (H,)
                      const floating[::1] gain,             # IN  (H,) or None
                      const int[::1] tokens,                # IN  (T,)
                      int title_length,
                      const floating[::1] initial_state,    # IN  (H,)
                      floating[:, ::1] states,              # OUT (T, H)
                      workspace,
                      bint backward,
                      floating[:, ::1] d_embedding,         # INOUT (V, H), or None without backward
                      floating[:, ::1] d_ih,                # INOUT (H, H), or None
                      floating[:, ::1] d_hh,                # INOUT (H, H), or None
                      floating[::1] d_bias,                 # INOUT (H,), or None
                      floating[::1] d_gain,                 # INOUT (H,), or None
                      stop                                  # IN  threading.Event or None
                      ) except? -1:
    """The forward pass of one document and, with ``backward``, its loss and BPTT.

    The one place where the workspace's arrays become typed views; both
    ``def`` kernels below call it.  Returns the loss (0 without ``backward``).
    """
    cdef Py_ssize_t T = tokens.shape[0], n = max(T - 1, 0), k
    cdef double loss = 0
    cdef void *stop_pointer = _stop_pointer(stop)
    cdef int matvec = _matvec_for(np.float64 if floating is double else np.float32,
                                  hh.shape[0])
    cdef Py_ssize_t block_rows = _loss_block_rows_for(
        np.float64 if floating is double else np.float32, hh.shape[0], embedding.shape[0])
    workspace.reserve(T)
    cdef floating[:, ::1] scaled_hh = workspace.scaled_hh
    cdef floating[:, ::1] scaled_hh_t = workspace.scaled_hh_t
    cdef floating[:, ::1] d_scaled_hh = workspace.d_scaled_hh
    cdef int[::1] slot = workspace.slot
    cdef int[::1] distinct = workspace.distinct
    cdef floating[:, ::1] embeddeds = workspace.embeddeds
    cdef floating[:, ::1] inputs = workspace.inputs
    cdef floating[:, ::1] deltas_by_token = workspace.deltas_by_token
    cdef floating[:, ::1] middles = workspace.middles[:max(n, 1)]
    cdef floating[:, ::1] deltas = workspace.deltas[:max(n, 1)]
    cdef floating[:, ::1] logits = workspace.logits
    cdef floating[:, ::1] d_states_direct = workspace.d_states_direct
    cdef floating[:, ::1] embedding_t = workspace.embedding_t
    states[0, :] = initial_state
    with nogil:
        k = _forward(matvec, embedding, ih, hh, bias, gain, tokens, scaled_hh, scaled_hh_t,
                     slot, distinct, embeddeds, inputs, states, middles, stop_pointer)
        if backward:
            _transpose(embedding, embedding_t)
            loss = _score_rows(embedding, embedding_t, states[title_length:],
                               tokens[title_length:], logits, d_embedding, d_states_direct,
                               block_rows, NULL)
        if backward and T > 1:
            _backward_through_time(matvec, scaled_hh, title_length, middles,
                                   d_states_direct, deltas, stop_pointer)
            _parameter_grads(embedding, ih, hh, gain, tokens[:n], slot, distinct, k, states,
                             deltas, embeddeds, deltas_by_token, d_scaled_hh, d_embedding,
                             d_ih, d_hh, d_bias, d_gain)
    return loss


def document_loss_and_grads(
        const floating[:, ::1] embedding,      # IN  (V, H)
        const floating[:, ::1] ih,             # IN  (H, H)
        const floating[:, ::1] hh,             # IN  (H, H)
        const floating[::1] bias,              # IN  (H,)
        const int[::1] tokens,                 # IN  (T,)
        int title_length,                      # IN  m, 0 <= m <= T
        const floating[::1] initial_state,     # IN  (H,)
        floating[:, ::1] d_embedding,          # INOUT (V, H)
        floating[:, ::1] d_ih,                 # INOUT (H, H)
        floating[:, ::1] d_hh,                 # INOUT (H, H)
        floating[::1] d_bias,                  # INOUT (H,)
        floating[:, ::1] states,               # OUT (T, H)
        workspace,                             # INOUT scratch, a workspace of the same V, H, dtype
        const floating[::1] gain=None,         # IN  (H,) or None
        floating[::1] d_gain=None,             # INOUT (H,) or None
        stop=None):                            # IN  threading.Event or None
    """Loss of one document; adds its gradients into ``d_embedding``, ``d_ih``, ``d_hh``, ``d_bias``.

    Unchecked: the caller (:meth:`normrnn.NormRNN.loss_and_grads`) guarantees
    the shapes ((V, H), (H, H), (H, H), (H,) and ``states`` (T, H)), tokens in
    [0, V), 0 <= title_length <= T and nonzero rows of ``hh``.  With a learned
    ``gain`` (H,), finite, ``d_gain`` (H,) must be given too and gets its
    gradient added; without, S is the notes' hh[i] / (H ||hh[i]||).  Writes
    s_0 .. s_{T-1} into ``states``; scratch space comes from ``workspace``
    (a :class:`Workspace` of the same V, H and dtype).  Runs without the GIL,
    taking it every :data:`INTERRUPT_POLL_SECONDS` (:func:`_tick`): a pending
    ``KeyboardInterrupt`` raises there, and so does :class:`Stopped` once
    ``stop`` is set (the arrays written are then incomplete).
    """
    return _document(embedding, ih, hh, bias, gain, tokens, title_length, initial_state,
                     states, workspace, True, d_embedding, d_ih, d_hh, d_bias, d_gain, stop)


def document_states(const floating[:, ::1] embedding,    # IN  (V, H)
                    const floating[:, ::1] ih,           # IN  (H, H)
                    const floating[:, ::1] hh,           # IN  (H, H)
                    const floating[::1] bias,            # IN  (H,)
                    const int[::1] tokens,               # IN  (T,)
                    const floating[::1] initial_state,   # IN  (H,)
                    floating[:, ::1] states,             # OUT (T, H)
                    workspace,                           # INOUT scratch, a workspace of V, H, dtype
                    const floating[::1] gain=None,       # IN  (H,) or None
                    stop=None):                          # IN  threading.Event or None
    """Write s_0 .. s_{T-1} into ``states`` (T, H), starting from ``initial_state``.

    Unchecked, like :func:`document_loss_and_grads`; ``gain`` and ``stop`` as there.
    """
    cdef floating[:, ::1] no_matrix = None          # no gradients without the backward pass
    cdef floating[::1] no_vector = None
    _document(embedding, ih, hh, bias, gain, tokens, 0, initial_state, states, workspace,
              False, no_matrix, no_matrix, no_matrix, no_vector, no_vector, stop)
