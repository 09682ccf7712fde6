"""Many documents in lockstep: forward and BPTT of a batch, and its loss alone.

:mod:`normrnn._kernels.bptt_gathered` reads one document at a time, so its two
sequential products per token, S s_t forward and S^T delta_t backward, are
matrix-vector products: they read all of S (H x H) for 2 H^2 flops, and run at
the speed of memory, not of arithmetic.  Here B documents advance together:
at step t the states of every document still reading are the rows of one
matrix, and ``S [s_1 ... s_B]`` is one small matrix-matrix product that reads
S once for B documents.  Everything else is gathered into big products over
all positions of all documents, as :mod:`normrnn._kernels.bptt_gathered` does for one.

**Ragged batches.**  The caller sorts the documents by length, longest first
(:meth:`normrnn.NormRNN.batch_loss_and_grads` does, and undoes the order for
the states it returns).  Document b has n_b = T_b - 1 steps; the documents
still stepping at step t are then those with n_b > t, always a *prefix*
0 .. c_t - 1 that shrinks as documents end.  So each step's rows are
contiguous and no row is padding: the batch keeps exactly the rows its
documents need, the same memory as reading them one by one.  (Padding to the
longest document would cost ragged batches memory and time; a mask per step
would break the products into pieces.)

**Layout.**  Rows are numbered step by step: row ``first[t] + b`` (b < c_t)
holds, for document b at step t, the state it reads s_t, its pre-activation
a_t and delta_t.  These N = sum_b n_b rows are followed by B rows, one per
document, holding its last state s_{T_b - 1} (read by no step, but scored).
So

* dS = sum over all steps of delta_t (x) s_t is Delta^T S_read over rows 0 .. N-1,
  one gemm, as is dW_ih = D^T U (D: deltas summed per distinct token of the
  whole batch);
* the logits Z = S_scored E^T, dE += dZ^T S_scored and E^T dz = dZ E are
  products over every row from the first scored step on (unscored rows,
  t < m_b, get dz = 0), run by the per-document kernel's own scorer
  (``bptt_gathered._score_rows``): in blocks of rows or all at once, as
  :mod:`normrnn.kernel_choice` decides from the BLAS, and the same way for a
  document alone or in a batch;
* the input term W_ih f(E[x]) + b is computed once per distinct token of the
  whole batch.

**The per-step product.**  ``rows x S^T`` forward and ``rows x S`` backward
(c_t rows, H x H) run in ``rows_matmul.h``, register-blocked kernels that
read S once for every group of documents and sum each row in the same order
as ``matvec.h`` (so a document gets the same bits alone or in a batch); a
single row goes to ``matvec.h``.  Which register block, and which
instruction set, is timed once per process for each (dtype, H, B) by
:mod:`normrnn.kernel_choice`: the kernels that compete by default give the
same bits, so the timing changes the speed only.  BLAS gemm competes only
when ``NORMRNN_KERNEL`` asks for it: OpenBLAS's call and packing cost more
than the product of a few rows, and it sums in another order.
:func:`gemm_rows` switches large steps to gemm (never, by default).

**Elementwise.**  f over each step's pre-activations, with f'(a) kept in
their place (one division gives both; the backward's ``delta *= f'(a)`` is
then a multiply), and the softmax of every scored row run in ``pointwise.h``
(through ``pointwise.pxd``), in vector registers, with the same bits on every
CPU; the per-document kernel runs the same functions.

**Loss only.**  :func:`batch_loss` runs the same forward without keeping
anything for the backward: one state row per document, and the scored rows of
a block of :data:`LOSS_BLOCK_STEPS` steps whose logits are one gemm.  Its
memory is O(B (H + V)) whatever the lengths.

Initial states (B, H) are optional (zero otherwise); the last states are
returned in ``last_states``, the state that has read all but the last token,
as truncated BPTT carries it.  The learned gain is supported as in
:mod:`normrnn._kernels.bptt_gathered`.  The results equal the per-document kernel's up
to the rounding of reordered sums.  Every kernel here trusts its caller
(:class:`normrnn.NormRNN` checks); they run without the GIL.

What does not depend on how the steps are laid out comes from
:mod:`normrnn._kernels.bptt_gathered` (declared in ``bptt_gathered.pxd``): S and S^T, the
inputs of the distinct tokens, and every gradient from the deltas summed by
token.  The argument lists and workspace arrays here mirror that module's
on purpose, name for name, so that the two kernels read side by side.
"""

import numpy as np

from normrnn._kernels.bptt_gathered import _allocate_fixed, _loss_block_rows_for

from cython cimport floating

from normrnn._kernels.blas cimport gemm

cdef extern from "rows_matmul.h" nogil:
    int normrnn_cpu_level()
    int normrnn_rows_variant_count()
    const char *normrnn_rows_variant_name(int v)
    int normrnn_rows_variant_level(int v)
    void normrnn_rows_variant_d(int v, int n, int rows, int cols, const double *m,
                                const double *x, int ldx, double *y, int ldy)
    void normrnn_rows_variant_f(int v, int n, int rows, int cols, const float *m,
                                const float *x, int ldx, float *y, int ldy)
    int normrnn_matvec_variant_count()
    const char *normrnn_matvec_variant_name(int v)
    int normrnn_matvec_variant_level(int v)
    void normrnn_matvec_variant_d(int v, int rows, int cols, const double *m,
                                  const double *x, double *y)
    void normrnn_matvec_variant_f(int v, int rows, int cols, const float *m,
                                  const float *x, float *y)
from normrnn._kernels.bptt_gathered cimport (
    _Poller, _add_distinct, _distinct_inputs, _poller, _scaled_hh, _score_rows, _stop_pointer,
    _tick, _token_sums_to_grads, _transpose)
from normrnn._kernels.pointwise cimport (
    _activate, _activate_and_grad, _softmax_cross_entropy, _times)
from normrnn._kernels.laps cimport (
    _ACTIVATION, _Laps, _OTHER, _PARAMETER_SUMS, _PHASE_COUNT, _PREPARE, _STEP_PRODUCTS,
    _clock, _lap)


cdef enum:
    _LOSS_BLOCK_STEPS = 32
    _GEMM = -1           # _Kernels.rows: the step product is a BLAS gemm


cdef struct _Kernels:
    int rows             # rows_matmul.h's variant for steps of several rows, or _GEMM
    int matvec           # matvec.h's variant for a step of one row


# --- where the time goes (laps.pxd) -------------------------------------------

PHASES = ("prepare", "step products", "activation", "loss products", "softmax",
          "parameter sums", "other")
"""The phases of :func:`batch_loss_and_grads` its ``phase_seconds`` times, in order."""

# Steps with at least this many documents stepping use one BLAS gemm for
# S s / S^T delta; fewer use rows_matmul.h (see gemm_rows(); never by default).
cdef int _gemm_rows[2]
_gemm_rows[0] = 1 << 30       # float32
_gemm_rows[1] = 1 << 30       # float64


def gemm_rows(dtype, rows=None):
    """The number of documents stepping from which a step's product is a BLAS gemm.

    Below it, ``rows_matmul.h``'s kernel runs.  Pass ``rows`` to set it (for
    benchmarks); returns the value in force.
    """
    cdef int i = 1 if np.dtype(dtype) == np.float64 else 0
    if rows is not None:
        _gemm_rows[i] = max(int(rows), 1)
    return _gemm_rows[i]


#: Steps per block of :func:`batch_loss`'s logits product.
LOSS_BLOCK_STEPS = _LOSS_BLOCK_STEPS


# --- the kernels of the step product, chosen by normrnn.kernel_choice ---------

cdef _Kernels _kernels_for(dtype, Py_ssize_t H, Py_ssize_t B) except *:
    """The step-product kernels for B documents of size H, timed at their first use."""
    from normrnn import kernel_choice     # imports this module: not at load time
    cdef _Kernels kernels
    kernels.rows, kernels.matvec = kernel_choice.choose(dtype, H, B)
    return kernels


def _cpu_level():
    """The instruction set level of matvec.h's test: 4, 3 or 1 (0: one -march build)."""
    return normrnn_cpu_level()


def _variants():
    """Every kernel variant of this build: {"rows": [(name, level)], "matvec": [...]}."""
    return {
        "rows": [(normrnn_rows_variant_name(v).decode(), normrnn_rows_variant_level(v))
                 for v in range(normrnn_rows_variant_count())],
        "matvec": [(normrnn_matvec_variant_name(v).decode(), normrnn_matvec_variant_level(v))
                   for v in range(normrnn_matvec_variant_count())],
    }


cdef void _step_product(_Kernels kernels, Py_ssize_t rows, Py_ssize_t H,
                        const floating *matrix, const floating *x,
                        floating *y) noexcept nogil:
    """y += x @ matrix through the given kernels (see :func:`_rows_times_add`)."""
    if rows == 1:                  # matvec.h's accumulators hide the multiply-add latency
        if floating is double:
            normrnn_matvec_variant_d(kernels.matvec, <int> H, <int> H, matrix, x, y)
        else:
            normrnn_matvec_variant_f(kernels.matvec, <int> H, <int> H, matrix, x, y)
    elif kernels.rows == _GEMM:
        gemm(False, False, <int> rows, <int> H, <int> H, 1, x, <int> H, matrix, <int> H,
             1, y, <int> H)
    elif floating is double:
        normrnn_rows_variant_d(kernels.rows, <int> rows, <int> H, <int> H, matrix, x, <int> H,
                               y, <int> H)
    else:
        normrnn_rows_variant_f(kernels.rows, <int> rows, <int> H, <int> H, matrix, x, <int> H,
                               y, <int> H)


def _product(const floating[:, ::1] m, const floating[:, ::1] x, floating[:, ::1] y,
             int rows_variant=0, int matvec_variant=0):
    """y += x @ m through one kernel variant (``rows_variant`` -1: gemm), for tests.

    One row goes to ``matvec_variant``, more to ``rows_variant``, as in a step.
    """
    cdef _Kernels kernels
    if (m.shape[0] != m.shape[1] or x.shape[1] != m.shape[0] or y.shape[0] != x.shape[0]
            or y.shape[1] != m.shape[0]):
        raise ValueError("_product needs m (H, H), x (n, H) and y (n, H)")
    if not (-1 <= rows_variant < normrnn_rows_variant_count()
            and 0 <= matvec_variant < normrnn_matvec_variant_count()):
        raise ValueError("_product: no such variant")
    kernels.rows, kernels.matvec = rows_variant, matvec_variant
    if x.shape[0] == 0 or m.shape[0] == 0:
        return
    with nogil:
        _step_product(kernels, x.shape[0], m.shape[0], &m[0, 0], &x[0, 0], &y[0, 0])


def _time_products(const floating[:, ::1] m, const floating[:, ::1] x, floating[:, ::1] y,
                   candidates, int repeats, int calls=1):
    """The fastest of ``repeats`` timings of ``calls`` products y += x @ m, per candidate.

    ``candidates`` are (rows variant or -1, matvec variant) pairs; the
    repeats go round the candidates in turn, so that a slow moment of the
    machine hits them all alike.  A candidate four times slower than the
    fastest in the first round (which also warms up) is not timed again.
    Returns seconds per product.
    """
    from time import perf_counter
    cdef _Kernels kernels
    cdef Py_ssize_t n = x.shape[0], H = m.shape[0], _call
    best = [float("inf")] * len(candidates)
    timed = list(range(len(candidates)))
    for repeat in range(repeats + 1):
        for i in timed:
            kernels.rows, kernels.matvec = candidates[i]
            start = perf_counter()
            with nogil:
                for _call in range(calls):
                    _step_product(kernels, n, H, &m[0, 0], &x[0, 0], &y[0, 0])
            best[i] = min(best[i], (perf_counter() - start) / calls)
        if repeat == 0:
            timed = [i for i in timed if best[i] <= 4 * min(best)]
    return best


# --- small helpers ------------------------------------------------------------

cdef void _rows_times_add(_Kernels kernels, Py_ssize_t rows, Py_ssize_t H,
                          const floating *matrix,    # IN  (H, H)
                          const floating *x,         # IN  (rows, H), row stride H
                          floating *y                # INOUT (rows, H), row stride H
                          ) noexcept nogil:
    """y += x @ matrix, row by row: y[r] += matrix^T x[r].

    The sequential product of one step for every document stepping, through
    the ``kernels`` chosen for the batch (:mod:`normrnn.kernel_choice`);
    a BLAS gemm from :func:`gemm_rows` rows on.
    """
    cdef int threshold
    if floating is double:
        threshold = _gemm_rows[1]
    else:
        threshold = _gemm_rows[0]
    if rows > 1 and rows >= threshold:
        kernels.rows = _GEMM
    _step_product(kernels, rows, H, matrix, x, y)


cdef Py_ssize_t _input_terms(const floating[:, ::1] embedding,   # IN  (V, H)
                             const floating[:, ::1] ih,          # IN  (H, H)
                             const floating[::1] bias,           # IN  (H,)
                             const int[::1] tokens,              # IN  (total,) all documents
                             const int[::1] offsets,             # IN  (B + 1,)
                             int[::1] slot,                      # OUT (V,) row of each token, -1 if unread
                             int[::1] distinct,                  # OUT (>= k,) the k tokens read
                             floating[:, ::1] embeddeds,         # OUT (>= k, H) u_x = f(E[x])
                             floating[:, ::1] inputs,            # OUT (>= k, H) W_ih u_x + b
                             bint read_last=False
                             ) noexcept nogil:
    """W_ih f(E[x]) + b once per distinct token x that some step reads; returns k.

    The tokens read are x_0 .. x_{T_b - 2} of every document b (the last
    token is only predicted), or all of them with ``read_last``.
    """
    cdef Py_ssize_t B = offsets.shape[0] - 1, k = 0, b
    slot[:] = -1
    for b in range(B):
        k = _add_distinct(tokens[offsets[b]:offsets[b + 1] - (0 if read_last else 1)], slot,
                          distinct, k)
    _distinct_inputs(embedding, ih, bias, distinct, k, embeddeds, inputs)
    return k


cdef Py_ssize_t _schedule(const int[::1] offsets,   # IN  (B + 1,) lengths non-increasing
                          int[::1] stepping,        # OUT (n_max + 1,) c_t, then 0
                          int[::1] first,           # OUT (n_max + 1,) first row of step t
                          bint read_last=False
                          ) noexcept nogil:
    """c_t = #{b: n_b > t} and first[t] = c_0 + ... + c_{t-1}; returns N = first[n_max].

    Document b steps n_b = T_b - 1 times (its last token is only predicted),
    or T_b times with ``read_last``.
    """
    cdef Py_ssize_t B = offsets.shape[0] - 1, n_max = offsets[1] - offsets[0] - 1 + read_last
    cdef Py_ssize_t c = B, row = 0, t
    for t in range(n_max + 1):
        while c > 0 and offsets[c] - offsets[c - 1] - 1 + read_last <= t:
            c -= 1
        stepping[t] = <int> c
        first[t] = <int> row
        row += c
    return row


cdef Py_ssize_t _prepare(const floating[:, ::1] embedding,   # IN  (V, H)
                         const floating[:, ::1] ih,          # IN  (H, H)
                         const floating[:, ::1] hh,          # IN  (H, H)
                         const floating[::1] bias,           # IN  (H,)
                         const floating[::1] gain,           # IN  (H,) or None
                         const int[::1] tokens,              # IN  (total,)
                         const int[::1] offsets,             # IN  (B + 1,)
                         bint read_last,
                         floating[:, ::1] scaled_hh,         # OUT (H, H) S
                         floating[:, ::1] scaled_hh_t,       # OUT (H, H) S^T
                         int[::1] slot,                      # OUT (V,)
                         int[::1] distinct,                  # OUT (>= k,)
                         floating[:, ::1] embeddeds,         # OUT (>= k, H) U
                         floating[:, ::1] inputs,            # OUT (>= k, H) W_ih u + b
                         int[::1] stepping,                  # OUT (n_max + 1,) c_t
                         int[::1] first                      # OUT (n_max + 1,)
                         ) noexcept nogil:
    """What every pass does first: S and S^T, the input terms, the schedule; returns k."""
    _scaled_hh(hh, gain, scaled_hh, scaled_hh_t)
    _schedule(offsets, stepping, first, read_last)
    return _input_terms(embedding, ih, bias, tokens, offsets, slot, distinct, embeddeds, inputs,
                        read_last)


cdef void _step_forward(_Kernels kernels, Py_ssize_t t, Py_ssize_t c,
                        const floating[:, ::1] scaled_hh_t,   # IN  (H, H) S^T
                        const int[::1] tokens,                # IN  (total,)
                        const int[::1] offsets,               # IN  (B + 1,)
                        const int[::1] slot,                  # IN  (V,)
                        const floating[:, ::1] inputs,        # IN  (k, H)
                        const floating *states,               # IN  (c, H) s_t of documents 0 .. c-1
                        floating *middles                     # OUT (c, H) a_t
                        ) noexcept nogil:
    """a_t = (W_ih u_t + b) + S s_t for the c documents stepping at step t."""
    cdef Py_ssize_t H = scaled_hh_t.shape[0], b, j, r
    for b in range(c):
        r = slot[tokens[offsets[b] + t]]
        for j in range(H):
            middles[b * H + j] = inputs[r, j]
    _rows_times_add(kernels, c, H, &scaled_hh_t[0, 0], states, middles)   # += S s_t


# --- loss and gradients -------------------------------------------------------

cdef int _forward(_Kernels kernels,                         # IN  the step product's
                  const floating[:, ::1] scaled_hh_t,      # IN  (H, H)
                  const int[::1] tokens,                   # IN  (total,)
                  const int[::1] offsets,                  # IN  (B + 1,)
                  const int[::1] slot,                     # IN  (V,)
                  const floating[:, ::1] inputs,           # IN  (k, H)
                  const int[::1] stepping,                 # IN  (n_max + 1,)
                  const int[::1] first,                    # IN  (n_max + 1,)
                  floating[:, ::1] states,                 # INOUT (N + B, H); rows 0 .. c_0 - 1
                                                           #   and N + b (T_b = 1) hold s_0 on entry
                  floating[:, ::1] middles,                # OUT (N, H) f'(a_t)
                  void *stop,                              # IN  threading.Event or NULL
                  _Laps *laps                              # INOUT where the time goes
                  ) except -1 nogil:
    """Every state of every document, step after step, in the layout of the module docstring."""
    cdef Py_ssize_t H = states.shape[1], N = first[first.shape[0] - 1], t, c, c_next
    cdef _Poller poller = _poller(stop)
    for t in range(first.shape[0] - 1):
        c = stepping[t]
        c_next = stepping[t + 1]
        _tick(&poller, c * H * H)
        _step_forward(kernels, t, c, scaled_hh_t, tokens, offsets, slot, inputs,
                      &states[first[t], 0], &middles[first[t], 0])
        _lap(laps, _STEP_PRODUCTS)
        # documents 0 .. c_next - 1 read s_{t+1} at step t + 1; c_next .. c - 1 end here
        # (no address is taken of a row that is not there: the debug build checks)
        if c_next > 0:
            _activate_and_grad(c_next * H, &middles[first[t], 0], &states[first[t + 1], 0])
        if c > c_next:
            _activate_and_grad((c - c_next) * H, &middles[first[t] + c_next, 0],
                               &states[N + c_next, 0])
        _lap(laps, _ACTIVATION)
    return 0


cdef void _targets(const int[::1] tokens,          # IN  (total,)
                   const int[::1] offsets,         # IN  (B + 1,)
                   const int[::1] title_lengths,   # IN  (B,)
                   const int[::1] stepping,        # IN  (n_max + 1,)
                   const int[::1] first,           # IN  (n_max + 1,)
                   Py_ssize_t first_scored,
                   int[::1] targets                # OUT (N + B - first_scored,)
                   ) noexcept nogil:
    """The token each state row from first_scored on predicts, or -1 at a title position (t < m_b).

    Row i of ``targets`` belongs to state row first_scored + i.
    """
    cdef Py_ssize_t B = offsets.shape[0] - 1, N = first[first.shape[0] - 1], t, b, r
    for t in range(first.shape[0] - 1):                             # rows read by step t
        for b in range(stepping[t]):
            r = first[t] + b - first_scored
            if r >= 0:
                targets[r] = tokens[offsets[b] + t] if t >= title_lengths[b] else -1
    for b in range(B):                                              # last states
        t = offsets[b + 1] - offsets[b] - 1
        targets[N + b - first_scored] = tokens[offsets[b] + t] if t >= title_lengths[b] else -1


cdef inline void _copy_grads(Py_ssize_t n, Py_ssize_t row, Py_ssize_t first_scored,
                             const floating[:, ::1] d_states_direct, floating *out) noexcept nogil:
    """out[0 .. n H) = E^T dz of state rows row .. row + n - 1 (0 before first_scored)."""
    cdef Py_ssize_t H = d_states_direct.shape[1], i, j
    for i in range(n):
        if row + i < first_scored:
            for j in range(H):
                out[i * H + j] = 0
        else:
            for j in range(H):
                out[i * H + j] = d_states_direct[row + i - first_scored, j]


cdef int _backward_through_time(_Kernels kernels,                    # IN  the step product's
                                const floating[:, ::1] scaled_hh,    # IN  (H, H) S
                                const int[::1] stepping,             # IN  (n_max + 1,)
                                const int[::1] first,                # IN  (n_max + 1,)
                                Py_ssize_t first_scored,
                                const floating[:, ::1] middles,      # IN  (N, H) f'(a_t)
                                const floating[:, ::1] d_states_direct,  # IN  E^T dz, see _score_rows
                                floating[:, ::1] deltas,             # OUT (N, H) delta_t
                                void *stop,                          # IN  threading.Event or NULL
                                _Laps *laps                          # INOUT where the time goes
                                ) except -1 nogil:
    """delta_t = (E^T dz_{t+1} + S^T delta_{t+1}) * f'(a_t), the last step first.

    Document b's E^T dz_{t+1} is state row first[t + 1] + b while it steps
    again, and its last-state row N + b at its last step.
    """
    cdef Py_ssize_t H = scaled_hh.shape[0], N = first[first.shape[0] - 1]
    cdef Py_ssize_t t, c, c_next
    cdef _Poller poller = _poller(stop)
    cdef floating *delta
    for t in range(first.shape[0] - 2, -1, -1):
        c = stepping[t]
        c_next = stepping[t + 1]
        _tick(&poller, c * H * H)
        delta = &deltas[first[t], 0]
        _copy_grads(c_next, first[t + 1], first_scored, d_states_direct, delta)
        _copy_grads(c - c_next, N + c_next, first_scored, d_states_direct, delta + c_next * H)
        _lap(laps, _OTHER)
        if c_next > 0:                                # += S^T delta_{t+1} (sequential)
            _rows_times_add(kernels, c_next, H, &scaled_hh[0, 0], &deltas[first[t + 1], 0],
                            delta)
        _lap(laps, _STEP_PRODUCTS)
        _times(c * H, &middles[first[t], 0], delta)         # delta *= f'(a_t), kept
        _lap(laps, _ACTIVATION)
    return 0


cdef void _parameter_grads(const floating[:, ::1] embedding,    # IN  (V, H)
                           const floating[:, ::1] ih,           # IN  (H, H)
                           const floating[:, ::1] hh,           # IN  (H, H)
                           const floating[::1] gain,            # IN  (H,) or None
                           const int[::1] tokens,               # IN  (total,)
                           const int[::1] offsets,              # IN  (B + 1,)
                           const int[::1] stepping,             # IN  (n_max + 1,)
                           const int[::1] first,                # IN  (n_max + 1,)
                           const int[::1] slot,                 # IN  (V,)
                           const int[::1] distinct,             # IN  (k,)
                           Py_ssize_t k,
                           const floating[:, ::1] states,       # IN  (N + B, H)
                           const floating[:, ::1] deltas,       # IN  (N, H)
                           floating[:, ::1] embeddeds,          # INOUT (k, H) U on entry, then dU
                           floating[:, ::1] deltas_by_token,    # OUT (k, H) D
                           floating[:, ::1] d_scaled_hh,        # OUT (H, H) dS
                           floating[:, ::1] d_embedding,        # INOUT (V, H)
                           floating[:, ::1] d_ih,               # INOUT (H, H)
                           floating[:, ::1] d_hh,               # INOUT (H, H)
                           floating[::1] d_bias,                # INOUT (H,)
                           floating[::1] d_gain                 # INOUT (H,) or None
                           ) noexcept nogil:
    """The sums over all steps of all documents: db, dW_ih, dE (input part), dS, then dW_hh (and dg)."""
    cdef Py_ssize_t H = hh.shape[0], N = first[first.shape[0] - 1], t, b, r, j, row
    for r in range(k):
        for j in range(H):
            deltas_by_token[r, j] = 0
    for t in range(first.shape[0] - 1):               # D[x] = sum of delta_t where x_t = x
        for b in range(stepping[t]):
            row = first[t] + b
            r = slot[tokens[offsets[b] + t]]
            for j in range(H):
                deltas_by_token[r, j] += deltas[row, j]
    _token_sums_to_grads(embedding, ih, hh, gain, distinct, k, N, states, deltas, embeddeds,
                         deltas_by_token, d_scaled_hh, d_embedding, d_ih, d_hh, d_bias, d_gain)


class LockstepWorkspace:
    """Scratch arrays of :func:`batch_loss_and_grads` and :func:`batch_loss`, reused.

    Grows to the largest batch it has seen (total tokens and documents).  Not
    thread-safe: one per thread (:class:`normrnn.NormRNN` keeps one per thread).

    Parameters
    ----------
    vocab_size, hidden_size : int
        V and H.
    dtype : {numpy.float64, numpy.float32}
    """

    def __init__(self, vocab_size, hidden_size, dtype):
        _allocate_fixed(self, vocab_size, hidden_size, dtype)      # S, S^T, dS, slot
        self.distinct = np.empty(vocab_size, dtype=np.int32)       # the distinct tokens
        self.embeddeds = np.empty((vocab_size, hidden_size), dtype=dtype)     # U, then dU
        self.inputs = np.empty((vocab_size, hidden_size), dtype=dtype)        # W_ih u + b
        self.deltas_by_token = np.empty((vocab_size, hidden_size), dtype=dtype)  # D
        self.rows = self.steps = self.documents = -1
        self.reserve(1, 1, 1)

    def reserve(self, rows, steps, documents, backward=True):
        """Make room for ``rows`` state rows (N + B), ``steps`` steps and ``documents`` documents.

        With ``backward`` False only :func:`batch_loss`'s arrays are made.
        """
        V, H, dtype = self.key
        if steps > self.steps:
            self.steps = max(steps, 2 * self.steps)
            self.stepping = np.empty(self.steps + 1, dtype=np.int32)   # c_t
            self.first = np.empty(self.steps + 1, dtype=np.int32)      # first row of step t
        if documents > self.documents:
            self.documents = max(documents, 2 * self.documents)
            B = self.documents
            self.state = np.empty((B, H), dtype=dtype)                 # batch_loss: s_t
            self.middle = np.empty((B, H), dtype=dtype)                # batch_loss: a_t
            self.block_states = np.empty((LOSS_BLOCK_STEPS * B, H), dtype=dtype)
            self.block_logits = np.empty((LOSS_BLOCK_STEPS * B, V), dtype=dtype)
            self.block_targets = np.empty(LOSS_BLOCK_STEPS * B, dtype=np.int32)
        if backward and rows > self.rows:
            # room to grow into, unless that would hold more than 64 MiB
            # beyond what this batch needs (the memory check counts what it needs)
            per_row = (4 * H + V) * np.dtype(dtype).itemsize
            grown = 2 * self.rows
            self.rows = grown if rows < grown and (grown - rows) * per_row <= 2**26 else rows
            self.states = np.empty((self.rows, H), dtype=dtype)        # s_t, then last states
            self.middles = np.empty((self.rows, H), dtype=dtype)       # a_t, then f'(a_t)
            self.deltas = np.empty((self.rows, H), dtype=dtype)        # delta_t
            self.logits = np.empty((self.rows, V), dtype=dtype)        # z, then dz
            self.d_states_direct = np.empty((self.rows, H), dtype=dtype)  # E^T dz
            self.targets = np.empty(self.rows, dtype=np.int32)         # token each row predicts

    def prepared(self, steps):
        """The arrays :func:`_prepare` fills, in its order, for a batch of ``steps`` steps.

        S, S^T, ``slot``, ``distinct``, U, the input terms, and ``stepping``
        and ``first`` cut to steps + 1 entries (the kernels count the steps
        by their length).  Both passes unpack them with one assignment.
        """
        return (self.scaled_hh, self.scaled_hh_t, self.slot, self.distinct, self.embeddeds,
                self.inputs, self.stepping[:steps + 1], self.first[:steps + 1])


def batch_loss_and_grads(
        const floating[:, ::1] embedding,      # IN  (V, H)
        const floating[:, ::1] ih,             # IN  (H, H)
        const floating[:, ::1] hh,             # IN  (H, H)
        const floating[::1] bias,              # IN  (H,)
        const floating[::1] gain,              # IN  (H,) or None
        const int[::1] tokens,                 # IN  (total,) the documents, one after the other
        const int[::1] offsets,                # IN  (B + 1,) document b is tokens[offsets[b]:offsets[b+1]]
        const int[::1] title_lengths,          # IN  (B,)
        const floating[:, ::1] initial_states,  # IN  (B, H) s_0 of each document
        floating[:, ::1] d_embedding,          # INOUT (V, H)
        floating[:, ::1] d_ih,                 # INOUT (H, H)
        floating[:, ::1] d_hh,                 # INOUT (H, H)
        floating[::1] d_bias,                  # INOUT (H,)
        floating[::1] d_gain,                  # INOUT (H,) or None
        floating[:, ::1] last_states,          # OUT (B, H) s_{T_b - 1}
        workspace,                             # INOUT scratch, a workspace of the same V, H, dtype
        stop=None,                             # IN  threading.Event or None
        double[::1] phase_seconds=None):       # INOUT (len(PHASES),) or None: where the time goes
    """Summed loss of B documents in lockstep; adds their gradients into ``d_*``.

    L = sum_b sum_{t = m_b}^{T_b - 1} -log softmax(E s^b_t)[x^b_t], with
    s^b_0 = ``initial_states[b]`` and s^b_{t+1} = f(S s^b_t + W_ih f(E[x^b_t]) + b).
    Gradients of L are *added* into ``d_embedding``, ``d_ih``, ``d_hh``,
    ``d_bias`` (and ``d_gain`` with a learned ``gain``); none flows into the
    initial states.  ``last_states[b]`` gets s^b_{T_b - 1}.

    Unchecked: the caller guarantees B >= 1, lengths T_b >= 1 non-increasing
    in b (longest first), tokens in [0, V), 0 <= m_b <= T_b, nonzero rows of
    ``hh``, and a :class:`LockstepWorkspace` of the same V, H, dtype.
    Interrupts as in :func:`normrnn._kernels.bptt_gathered.document_loss_and_grads`:
    a pending ``KeyboardInterrupt``, or :class:`~normrnn._kernels.bptt_gathered.Stopped`
    once ``stop`` is set, raises between steps.

    With ``phase_seconds``, the wall time of each phase of the pass (named
    by :data:`PHASES`: the step products, the activation, the loss
    products, the softmax, ...) is *added* into it, from one clock read
    between phases: the phases add up to the whole call, and a clock read
    costs tens of nanoseconds against milliseconds per step of a batch.
    """
    cdef Py_ssize_t B = offsets.shape[0] - 1, H = hh.shape[0]
    cdef Py_ssize_t n_max = offsets[1] - offsets[0] - 1, N, k, b, j, first_scored
    cdef int m_min = title_lengths[0]
    cdef double loss
    cdef _Laps laps
    laps.seconds = NULL
    if phase_seconds is not None:
        if phase_seconds.shape[0] != _PHASE_COUNT:
            raise ValueError(f"phase_seconds must hold {_PHASE_COUNT} values, one per phase "
                             f"of PHASES; got {phase_seconds.shape[0]}")
        laps.seconds = &phase_seconds[0]
    laps.last = _clock()
    cdef void *stop_pointer = _stop_pointer(stop)
    cdef _Kernels kernels = _kernels_for(np.float64 if floating is double else np.float32, H, B)
    cdef Py_ssize_t block_rows = _loss_block_rows_for(
        np.float64 if floating is double else np.float32, H, embedding.shape[0])
    for b in range(B):
        m_min = min(m_min, title_lengths[b])
    workspace.reserve(offsets[B] - offsets[0], n_max, B)
    # the arrays _prepare fills, as in batch_loss; then this pass's own
    cdef floating[:, ::1] scaled_hh, scaled_hh_t, embeddeds, inputs
    cdef int[::1] slot, distinct, stepping, first
    scaled_hh, scaled_hh_t, slot, distinct, embeddeds, inputs, stepping, first = (
        workspace.prepared(n_max))
    cdef floating[:, ::1] d_scaled_hh = workspace.d_scaled_hh
    cdef floating[:, ::1] deltas_by_token = workspace.deltas_by_token
    cdef floating[:, ::1] states = workspace.states
    cdef floating[:, ::1] middles = workspace.middles
    cdef floating[:, ::1] deltas = workspace.deltas
    cdef floating[:, ::1] logits = workspace.logits
    cdef floating[:, ::1] d_states_direct = workspace.d_states_direct
    cdef int[::1] targets = workspace.targets
    cdef floating[:, ::1] embedding_t = workspace.embedding_t
    with nogil:
        k = _prepare(embedding, ih, hh, bias, gain, tokens, offsets, False, scaled_hh,
                     scaled_hh_t, slot, distinct, embeddeds, inputs, stepping, first)
        _lap(&laps, _PREPARE)
        N = first[n_max]
        for b in range(B):                            # s_0: read by step 0, or, for
            for j in range(H):                        # T_b = 1, the last state
                states[b if b < stepping[0] else N + b, j] = initial_states[b, j]
        _lap(&laps, _OTHER)
        _forward(kernels, scaled_hh_t, tokens, offsets, slot, inputs, stepping, first, states,
                 middles, stop_pointer, &laps)
        first_scored = first[m_min] if m_min <= n_max else N
        _targets(tokens, offsets, title_lengths, stepping, first, first_scored, targets)
        _transpose(embedding, embedding_t)
        _lap(&laps, _OTHER)
        loss = _score_rows(embedding, embedding_t, states[first_scored:],
                           targets[:N + B - first_scored], logits, d_embedding, d_states_direct,
                           block_rows, &laps)
        if N > 0:
            _backward_through_time(kernels, scaled_hh, stepping, first, first_scored, middles,
                                   d_states_direct, deltas, stop_pointer, &laps)
            _parameter_grads(embedding, ih, hh, gain, tokens, offsets, stepping, first, slot,
                             distinct, k, states, deltas, embeddeds, deltas_by_token,
                             d_scaled_hh, d_embedding, d_ih, d_hh, d_bias, d_gain)
            _lap(&laps, _PARAMETER_SUMS)
        for b in range(B):
            for j in range(H):
                last_states[b, j] = states[N + b, j]
        _lap(&laps, _OTHER)
    return loss


# --- the loss alone -----------------------------------------------------------

cdef double _block_loss(const floating[:, ::1] embedding,   # IN  (V, H)
                        Py_ssize_t rows,
                        const floating[:, ::1] block_states,  # IN  (rows, H) scored states
                        const int[::1] block_targets,        # IN  (rows,) their tokens
                        floating[:, ::1] block_logits        # OUT (rows, V) scratch
                        ) noexcept nogil:
    """sum_r -log softmax(E s_r)[x_r] over a block of scored states: one gemm for the logits."""
    cdef Py_ssize_t V = embedding.shape[0], H = embedding.shape[1], r
    cdef double loss = 0
    if rows == 0:
        return 0
    gemm(False, True, <int> rows, <int> V, <int> H, 1, &block_states[0, 0], <int> H,
         &embedding[0, 0], <int> H, 0, &block_logits[0, 0], <int> V)
    for r in range(rows):                       # dz is computed too, and dropped
        loss += _softmax_cross_entropy(block_logits[r], block_targets[r])
    return loss


def batch_loss(
        const floating[:, ::1] embedding,      # IN  (V, H)
        const floating[:, ::1] ih,             # IN  (H, H)
        const floating[:, ::1] hh,             # IN  (H, H)
        const floating[::1] bias,              # IN  (H,)
        const floating[::1] gain,              # IN  (H,) or None
        const int[::1] tokens,                 # IN  (total,)
        const int[::1] offsets,                # IN  (B + 1,)
        const int[::1] title_lengths,          # IN  (B,)
        const floating[:, ::1] initial_states,  # IN  (B, H)
        floating[:, ::1] last_states,          # OUT (B, H) s_{T_b - 1}, or s_{T_b}
        workspace,                             # INOUT scratch, a workspace of the same V, H, dtype
        bint read_last=False,                  # IN  also read each document's last token
        stop=None):                            # IN  threading.Event or None
    """The summed loss of :func:`batch_loss_and_grads`, forward only, in O(B (H + V)) memory.

    Same arguments and guarantees, without the gradients: nothing is kept for
    a backward pass.  Each document's state lives in one row, updated in
    place; the scored states of :data:`LOSS_BLOCK_STEPS` steps are scored
    together, one gemm for their logits.  ``last_states[b]`` gets s^b_{T_b - 1},
    or, with ``read_last``, s^b_{T_b}: the state after reading every token,
    the last one too, as a sampler reading a prompt needs (give
    title_lengths[b] = T_b to score nothing).  Interrupts and ``stop`` as in
    :func:`batch_loss_and_grads`.
    """
    cdef Py_ssize_t B = offsets.shape[0] - 1, H = hh.shape[0]
    cdef Py_ssize_t n_max = offsets[1] - offsets[0] - 1 + read_last, b, t, c, rows = 0, j
    cdef Py_ssize_t V = embedding.shape[0]
    cdef double loss = 0
    cdef _Poller poller = _poller(_stop_pointer(stop))
    cdef _Kernels kernels = _kernels_for(np.float64 if floating is double else np.float32, H, B)
    workspace.reserve(0, n_max, B, backward=False)
    # the arrays _prepare fills, as in batch_loss_and_grads; then this pass's own
    cdef floating[:, ::1] scaled_hh, scaled_hh_t, embeddeds, inputs
    cdef int[::1] slot, distinct, stepping, first
    scaled_hh, scaled_hh_t, slot, distinct, embeddeds, inputs, stepping, first = (
        workspace.prepared(n_max))
    cdef floating[:, ::1] state = workspace.state
    cdef floating[:, ::1] middle = workspace.middle
    cdef floating[:, ::1] block_states = workspace.block_states
    cdef floating[:, ::1] block_logits = workspace.block_logits
    cdef int[::1] block_targets = workspace.block_targets
    # blocks of this batch's size, not the workspace's: where a block ends
    # decides the order of the loss's sum, which must not depend on history
    cdef Py_ssize_t block_rows = _LOSS_BLOCK_STEPS * B
    with nogil:
        _prepare(embedding, ih, hh, bias, gain, tokens, offsets, read_last, scaled_hh,
                 scaled_hh_t, slot, distinct, embeddeds, inputs, stepping, first)
        for b in range(B):
            for j in range(H):
                state[b, j] = initial_states[b, j]
        for t in range(n_max + 1):
            if rows + B > block_rows:                 # room for this step's B rows
                loss += _block_loss(embedding, rows, block_states, block_targets, block_logits)
                rows = 0
            # s_t of every document still reading (T_b > t), scored from m_b on
            for b in range(B):
                if offsets[b + 1] - offsets[b] <= t:
                    break
                if t >= title_lengths[b]:
                    for j in range(H):
                        block_states[rows, j] = state[b, j]
                    block_targets[rows] = tokens[offsets[b] + t]
                    rows += 1
            c = stepping[t]
            _tick(&poller, max(c, 1) * H * (H + V))   # S s_t and the logits
            if c > 0:                                 # s_{t+1} = f(a_t), in place
                _step_forward(kernels, t, c, scaled_hh_t, tokens, offsets, slot, inputs,
                              &state[0, 0], &middle[0, 0])
                _activate(c * H, &middle[0, 0], &state[0, 0])
        loss += _block_loss(embedding, rows, block_states, block_targets, block_logits)
        for b in range(B):                            # row b stopped at s_{n_b}
            for j in range(H):
                last_states[b, j] = state[b, j]
    return loss
