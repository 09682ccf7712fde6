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
that.  Memory is O(T (H + V) + H^2) per document, allocated once per document.
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


def document_loss_and_grads(
        const floating[:, ::1] embedding, const floating[:, ::1] ih,
        const floating[:, ::1] hh, const floating[::1] bias,
        const int[::1] tokens, int title_length, const floating[::1] initial_state,
        floating[:, ::1] d_embedding, floating[:, ::1] d_ih,
        floating[:, ::1] d_hh, floating[::1] d_bias, floating[:, ::1] states):
    """Loss of one document; adds its gradients into ``d_embedding``, ``d_ih``, ``d_hh``, ``d_bias``.

    Unchecked: the caller (:meth:`normrnn.NormRNN.loss_and_grads`) guarantees
    the shapes ((V, H), (H, H), (H, H), (H,) and ``states`` (T, H)), tokens in
    [0, V), 0 <= title_length <= T and nonzero rows of ``hh``.  Writes
    s_0 .. s_{T-1} into ``states``.  Runs without the GIL.
    """
    cdef Py_ssize_t T = tokens.shape[0], V = embedding.shape[0], H = hh.shape[1]
    cdef Py_ssize_t n = max(T - 1, 1), k = max(T - title_length, 1)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] scaled_hh = np.empty((H, H), dtype=dtype)
    cdef floating[:, ::1] d_scaled_hh = np.empty((H, H), dtype=dtype)
    cdef floating[:, ::1] embeddeds = np.empty((n, H), dtype=dtype)
    cdef floating[:, ::1] middles = np.empty((n, H), dtype=dtype)
    cdef floating[:, ::1] deltas = np.empty((n, H), dtype=dtype)
    cdef floating[:, ::1] logits = np.empty((k, V), dtype=dtype)
    cdef floating[:, ::1] logit_grads = np.empty((k, H), dtype=dtype)
    cdef floating[::1] grad = np.empty(H, dtype=dtype)
    cdef double loss
    states[0, :] = initial_state
    with nogil:
        _row_normalise(hh, scaled_hh)
        _forward(embedding, ih, bias, tokens, scaled_hh, states, embeddeds, middles)
        loss = _logits(embedding, tokens, title_length, states, logits,
                       d_embedding, logit_grads)
        if T > 1:
            _backward_through_time(scaled_hh, title_length, middles[:T - 1],
                                   logit_grads, deltas, grad)
            _gather(embedding, ih, hh, tokens, states, deltas[:T - 1], embeddeds,
                    d_scaled_hh, d_embedding, d_ih, d_hh, d_bias)
    return loss


def document_states(const floating[:, ::1] embedding, const floating[:, ::1] ih,
                    const floating[:, ::1] hh, const floating[::1] bias,
                    const int[::1] tokens, const floating[::1] initial_state,
                    floating[:, ::1] states):
    """Write s_0 .. s_{T-1} into ``states`` (T, H), starting from ``initial_state``.

    Unchecked, like :func:`document_loss_and_grads`.
    """
    cdef Py_ssize_t T = tokens.shape[0], H = hh.shape[1], n = max(T - 1, 1)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] scaled_hh = np.empty((H, H), dtype=dtype)
    cdef floating[:, ::1] embeddeds = np.empty((n, H), dtype=dtype)
    cdef floating[:, ::1] middles = np.empty((n, H), dtype=dtype)
    states[0, :] = initial_state
    with nogil:
        _row_normalise(hh, scaled_hh)
        _forward(embedding, ih, bias, tokens, scaled_hh, states, embeddeds, middles)
