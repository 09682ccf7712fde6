"""Whole-document forward and BPTT, the fast way: gather, then multiply matrices.

Only two products per token are truly sequential: S s_t forward and S^T delta_t
backward (``MATH.md``).  Everything else is a sum over time of outer products,
or a product with a matrix that does not change along the document, so it is
gathered into one matrix-matrix product (BLAS gemm) per parameter:

==========================  =====================================  ============
quantity                    per token (bptt_sections.pyx)          here
==========================  =====================================  ============
W_ih u_t for all t          T-1 matvecs                            U W_ih^T
logits z_t, t >= m          T-m matvecs                            S_m E^T
dE (logits part)            T-m rank-1 updates dz ⊗ s              dZ^T S_m
E^T dz_t                    T-m matvecs                            dZ E
dW_ih                       T-1 rank-1 updates delta ⊗ u           Delta^T U
W_ih^T delta_t              T-1 matvecs                            Delta W_ih
dS                          T-1 rank-1 updates delta ⊗ s           Delta^T S
==========================  =====================================  ============

(U, Delta, S_m stack u_t, delta_t and s_t as rows.)  The result equals the
section-by-section BPTT up to the rounding of reordered sums; the tests check
that.  Memory is O(T (H + V) + H^2) per document, in a :class:`Workspace`
that is reused from one document to the next.
"""

import numpy as np

from cython cimport floating

from normrnn._kernels.activation cimport f, f_grad
from normrnn._kernels.blas cimport gemm, gemv
from normrnn._kernels.sections cimport (
    _embedding_activation_backward, _row_normalise, _row_normalise_backward,
    _softmax_cross_entropy)


cdef void _forward(const floating[:, ::1] embedding, const floating[:, ::1] ih,
                   const floating[::1] bias, const int[::1] tokens,
                   const floating[:, ::1] scaled_hh, floating[:, ::1] states,
                   floating[:, ::1] embeddeds, floating[:, ::1] middles) noexcept nogil:
    """s_{t+1} = f(S s_t + W_ih u_t + b) from states[0]; keeps u_t and a_t."""
    cdef Py_ssize_t n = tokens.shape[0] - 1, H = scaled_hh.shape[0], t, j
    if n == 0:
        return
    for t in range(n):                               # U: u_t = f(E[x_t])
        for j in range(H):
            embeddeds[t, j] = f(embedding[tokens[t], j])
    gemm(False, True, n, H, H, 1, &embeddeds[0, 0], H, &ih[0, 0], H,
         0, &middles[0, 0], H)                       # A = U W_ih^T
    for t in range(n):
        for j in range(H):
            middles[t, j] += bias[j]                 # A += b
        gemv(False, H, H, 1, &scaled_hh[0, 0], H, &states[t, 0],
             1, &middles[t, 0])                      # a_t += S s_t  (sequential)
        for j in range(H):
            states[t + 1, j] = f(middles[t, j])


cdef double _logits(const floating[:, ::1] embedding, const int[::1] tokens,
                    int m, const floating[:, ::1] states, floating[:, ::1] logits,
                    floating[:, ::1] d_embedding,
                    floating[:, ::1] logit_grads) noexcept nogil:
    """Loss over positions t >= m; dE += dZ^T S_m; logit_grads = dZ E (row t-m is E^T dz_t)."""
    cdef Py_ssize_t T = tokens.shape[0], V = embedding.shape[0], H = embedding.shape[1], r
    cdef Py_ssize_t k = T - m
    cdef double loss = 0
    if k == 0:
        return 0
    gemm(False, True, k, V, H, 1, &states[m, 0], H, &embedding[0, 0], H,
         0, &logits[0, 0], V)                        # Z = S_m E^T
    for r in range(k):                               # dZ = softmax(Z) - onehot
        loss += _softmax_cross_entropy(logits[r], tokens[m + r])
    gemm(True, False, V, H, k, 1, &logits[0, 0], V, &states[m, 0], H,
         1, &d_embedding[0, 0], H)                   # dE += dZ^T S_m
    gemm(False, False, k, H, V, 1, &logits[0, 0], V, &embedding[0, 0], H,
         0, &logit_grads[0, 0], H)                   # G = dZ E
    return loss


cdef void _backward_through_time(const floating[:, ::1] scaled_hh, int m,
                                 const floating[:, ::1] middles,
                                 const floating[:, ::1] logit_grads,
                                 floating[:, ::1] deltas,
                                 floating[::1] grad) noexcept nogil:
    """delta_{t-1} = (S^T delta_t + E^T dz_t) * f'(a_{t-1}), t = T-1 down to 1."""
    cdef Py_ssize_t n = middles.shape[0], H = scaled_hh.shape[0], t, j
    for t in range(n, 0, -1):
        if t == n:
            grad[:] = 0
        else:                                        # g_t = S^T delta_t  (sequential)
            gemv(True, H, H, 1, &scaled_hh[0, 0], H, &deltas[t, 0], 0, &grad[0])
        if t >= m:
            for j in range(H):
                grad[j] += logit_grads[t - m, j]
        for j in range(H):
            deltas[t - 1, j] = grad[j] * f_grad(middles[t - 1, j])


cdef void _gather(const floating[:, ::1] embedding, const floating[:, ::1] ih,
                  const floating[:, ::1] hh, const int[::1] tokens,
                  const floating[:, ::1] states, const floating[:, ::1] deltas,
                  floating[:, ::1] embeddeds, floating[:, ::1] d_scaled_hh,
                  floating[:, ::1] d_embedding, floating[:, ::1] d_ih,
                  floating[:, ::1] d_hh, floating[::1] d_bias) noexcept nogil:
    """The sums over time of the bias, ih, embedding-activation and hh sections."""
    cdef Py_ssize_t n = deltas.shape[0], H = hh.shape[0], t, j
    for t in range(n):                               # db += sum_t delta_t
        for j in range(H):
            d_bias[j] += deltas[t, j]
    gemm(True, False, H, H, n, 1, &deltas[0, 0], H, &embeddeds[0, 0], H,
         1, &d_ih[0, 0], H)                          # dW_ih += Delta^T U
    gemm(False, False, n, H, H, 1, &deltas[0, 0], H, &ih[0, 0], H,
         0, &embeddeds[0, 0], H)                     # dU = Delta W_ih (U no longer needed)
    for t in range(n):                               # dE[x_t] += du_t * f'(E[x_t])
        _embedding_activation_backward(embedding, tokens[t], embeddeds[t], d_embedding)
    gemm(True, False, H, H, n, 1, &deltas[0, 0], H, &states[0, 0], H,
         0, &d_scaled_hh[0, 0], H)                   # dS = Delta^T S_{0..T-2}
    _row_normalise_backward(hh, d_scaled_hh, d_hh)


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
        self.key = (vocab_size, hidden_size, np.dtype(dtype))
        self.scaled_hh = np.empty((hidden_size, hidden_size), dtype=dtype)
        self.d_scaled_hh = np.empty((hidden_size, hidden_size), dtype=dtype)
        self.grad = np.empty(hidden_size, dtype=dtype)
        self.rows = 0
        self.reserve(1)

    def reserve(self, rows):
        """Make room for documents of up to ``rows`` tokens."""
        if rows <= self.rows:
            return
        V, H, dtype = self.key
        self.rows = max(rows, 2 * self.rows)
        self.embeddeds = np.empty((self.rows, H), dtype=dtype)     # u_t, then du_t
        self.middles = np.empty((self.rows, H), dtype=dtype)       # a_t
        self.deltas = np.empty((self.rows, H), dtype=dtype)        # delta_t
        self.logits = np.empty((self.rows, V), dtype=dtype)        # z_t, then dz_t
        self.logit_grads = np.empty((self.rows, H), dtype=dtype)   # E^T dz_t


def document_loss_and_grads(
        const floating[:, ::1] embedding, const floating[:, ::1] ih,
        const floating[:, ::1] hh, const floating[::1] bias,
        const int[::1] tokens, int title_length, const floating[::1] initial_state,
        floating[:, ::1] d_embedding, floating[:, ::1] d_ih,
        floating[:, ::1] d_hh, floating[::1] d_bias, floating[:, ::1] states,
        workspace):
    """Loss of one document; adds its gradients into ``d_embedding``, ``d_ih``, ``d_hh``, ``d_bias``.

    Unchecked: the caller (:meth:`normrnn.NormRNN.loss_and_grads`) guarantees
    the shapes ((V, H), (H, H), (H, H), (H,) and ``states`` (T, H)), tokens in
    [0, V), 0 <= title_length <= T and nonzero rows of ``hh``.  Writes
    s_0 .. s_{T-1} into ``states``; scratch space comes from ``workspace``
    (a :class:`Workspace` of the same V, H and dtype).  Runs without the GIL.
    """
    cdef Py_ssize_t T = tokens.shape[0]
    workspace.reserve(T)
    cdef floating[:, ::1] scaled_hh = workspace.scaled_hh
    cdef floating[:, ::1] d_scaled_hh = workspace.d_scaled_hh
    cdef floating[:, ::1] embeddeds = workspace.embeddeds
    cdef floating[:, ::1] middles = workspace.middles[:max(T - 1, 1)]
    cdef floating[:, ::1] deltas = workspace.deltas[:max(T - 1, 1)]
    cdef floating[:, ::1] logits = workspace.logits
    cdef floating[:, ::1] logit_grads = workspace.logit_grads
    cdef floating[::1] grad = workspace.grad
    cdef double loss
    states[0, :] = initial_state
    with nogil:
        _row_normalise(hh, scaled_hh)
        _forward(embedding, ih, bias, tokens, scaled_hh, states, embeddeds, middles)
        loss = _logits(embedding, tokens, title_length, states, logits,
                       d_embedding, logit_grads)
        if T > 1:
            _backward_through_time(scaled_hh, title_length, middles, logit_grads,
                                   deltas, grad)
            _gather(embedding, ih, hh, tokens, states, deltas, embeddeds,
                    d_scaled_hh, d_embedding, d_ih, d_hh, d_bias)
    return loss


def document_states(const floating[:, ::1] embedding, const floating[:, ::1] ih,
                    const floating[:, ::1] hh, const floating[::1] bias,
                    const int[::1] tokens, const floating[::1] initial_state,
                    floating[:, ::1] states, workspace):
    """Write s_0 .. s_{T-1} into ``states`` (T, H), starting from ``initial_state``.

    Unchecked, like :func:`document_loss_and_grads`.
    """
    workspace.reserve(tokens.shape[0])
    cdef floating[:, ::1] scaled_hh = workspace.scaled_hh
    cdef floating[:, ::1] embeddeds = workspace.embeddeds
    cdef floating[:, ::1] middles = workspace.middles
    states[0, :] = initial_state
    with nogil:
        _row_normalise(hh, scaled_hh)
        _forward(embedding, ih, bias, tokens, scaled_hh, states, embeddeds, middles)
