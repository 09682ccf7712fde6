"""Whole-document forward and BPTT, composed token by token from the section kernels.

This is :func:`normrnn.reference.loss_and_grads` line for line, in Cython: the
same six backward sections per step, in the order of the notes, with no Python
call per token.  It is the version to read.  :mod:`normrnn._kernels.bptt_gathered` is the
version to run: it gathers the outer products into matrix products after the
loop, and the tests prove the two equal.  Its ``def`` takes the same arguments
as :func:`normrnn._kernels.bptt_gathered.document_loss_and_grads`, on purpose (less
the workspace): the two are one contract, read two ways.
"""

import numpy as np

from cython cimport floating

from normrnn._kernels.activation cimport f
from normrnn._kernels.section_kernels cimport (
    _activation_backward, _bias_backward, _embedding_activation_backward,
    _embedding_activation_forward, _hh_backward, _hh_forward, _ih_backward,
    _gain_backward, _gain_forward, _ih_forward, _logits_backward, _row_normalise,
    _row_normalise_backward)


cdef double _document_by_section(
        const floating[:, ::1] embedding, const floating[:, ::1] ih,
        const floating[:, ::1] hh, const floating[::1] bias,
        const floating[::1] gain, const int[::1] tokens, int title_length,
        floating[:, ::1] d_embedding, floating[:, ::1] d_ih,
        floating[:, ::1] d_hh, floating[::1] d_bias, floating[::1] d_gain,
        floating[:, ::1] states, floating[:, ::1] middles,
        floating[:, ::1] embeddeds, floating[:, ::1] scaled_hh,
        floating[:, ::1] d_scaled_hh, floating[::1] d_logits,
        floating[::1] d_state, floating[::1] d_previous_state, floating[::1] delta,
        floating[::1] d_embedded) noexcept nogil:
    """Forward from ``states[0]``, then BPTT; returns the loss, adds into the d_ arrays.

    Workspaces: middles and embeddeds (T-1, H), scaled_hh and d_scaled_hh
    (H, H, the latter zeroed), d_logits (V,), d_state, d_previous_state, delta and
    d_embedded (H,).  ``gain`` and ``d_gain`` are None for the notes' fixed 1/H.
    """
    cdef Py_ssize_t T = tokens.shape[0], H = hh.shape[1], t, j
    cdef double loss = 0

    if gain is None:
        _row_normalise(hh, scaled_hh)                                  # S = hh / (H ||hh||)
    else:
        _gain_forward(hh, gain, scaled_hh)                             # S = gamma hh / ||hh||
    # forward: a_t = S s_t + W_ih f(E[x_t]) + b,  s_{t+1} = f(a_t)
    for t in range(T - 1):
        _embedding_activation_forward(embedding, tokens[t], embeddeds[t])
        middles[t, :] = bias
        _hh_forward(scaled_hh, states[t], middles[t])
        _ih_forward(ih, embeddeds[t], middles[t])
        for j in range(H):
            states[t + 1, j] = f(middles[t, j])

    # backward, t = T-1 down to 1; d_state holds g_t, the gradient w.r.t. s_t
    d_state[:] = 0
    for t in range(T - 1, 0, -1):
        if t >= title_length:                                          # 1. logits
            loss += _logits_backward(embedding, states[t], tokens[t],
                                     d_logits, d_embedding, d_state)
        delta[:] = 0
        _activation_backward(d_state, middles[t - 1], delta)           # 2. activation
        _bias_backward(delta, d_bias)                                  # 3. bias
        d_embedded[:] = 0
        _ih_backward(ih, embeddeds[t - 1], delta, d_ih, d_embedded)   # 4. ih
        _embedding_activation_backward(embedding, tokens[t - 1],       # 5. embedding
                                       d_embedded, d_embedding)        #    activation
        d_previous_state[:] = 0
        _hh_backward(scaled_hh, states[t - 1], delta, d_scaled_hh, d_previous_state)  # 6. hh
        d_state[:] = d_previous_state
    if title_length == 0:             # position 0 is scored, but has no step before it
        loss += _logits_backward(embedding, states[0], tokens[0], d_logits, d_embedding, d_state)
    if gain is None:                                                   # once, after the loop
        _row_normalise_backward(hh, d_scaled_hh, d_hh)
    else:
        _gain_backward(hh, gain, d_scaled_hh, d_hh, d_gain)
    return loss


def document_loss_and_grads_by_section(
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
        const floating[::1] gain=None,         # IN  (H,) or None
        floating[::1] d_gain=None):            # INOUT (H,) or None
    """Loss of one document; adds its gradients into ``d_embedding``, ``d_ih``, ``d_hh``, ``d_bias``.

    Unchecked: the caller guarantees shapes (``states`` is (T, H)), token range,
    0 <= title_length <= T and nonzero rows of ``hh``.  A learned ``gain``
    (H,) needs ``d_gain`` (H,), which gets its gradient added.  Writes s_0 .. s_{T-1}
    into ``states``.  Allocates its workspaces once per document, none per token.
    """
    cdef Py_ssize_t T = tokens.shape[0], V = embedding.shape[0], H = hh.shape[1]
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] middles = np.empty((max(T - 1, 1), H), dtype=dtype)
    cdef floating[:, ::1] embeddeds = np.empty((max(T - 1, 1), H), dtype=dtype)
    cdef floating[:, ::1] scaled_hh = np.empty((H, H), dtype=dtype)
    cdef floating[:, ::1] d_scaled_hh = np.zeros((H, H), dtype=dtype)
    cdef floating[::1] d_logits = np.empty(V, dtype=dtype)
    cdef floating[:, ::1] vectors = np.empty((4, H), dtype=dtype)
    cdef double loss
    states[0, :] = initial_state
    with nogil:
        loss = _document_by_section(
            embedding, ih, hh, bias, gain, tokens, title_length,
            d_embedding, d_ih, d_hh, d_bias, d_gain, states, middles, embeddeds,
            scaled_hh, d_scaled_hh, d_logits,
            vectors[0], vectors[1], vectors[2], vectors[3])
    return loss
