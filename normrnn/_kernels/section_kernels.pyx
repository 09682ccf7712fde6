"""One Cython kernel per section of the notes, float32 and float64.

Each section has a ``cdef ... noexcept nogil`` kernel (``_name``) that trusts
its inputs: bounds checking is off (``setup.py``), shapes are whatever the
caller says.  Kernels *add into* their outputs (``+=``), so a caller
accumulates gradients over time steps by passing the same arrays again.  A thin
``def`` wrapper of the same name without the underscore exposes each kernel to
Python; the checked, allocating front door is :mod:`normrnn.sections`.

Shapes: V the vocabulary size, H the hidden size.  Names follow the notes and
the docs' notation table: ``embedding`` E, ``ih`` W_ih, ``hh`` W_hh, ``bias`` b,
``scaled_hh`` S, ``state`` s_t, ``middle`` a_t, ``embedded`` u_t.
"""

from cython cimport floating
from libc.math cimport exp, expf, log, sqrt

from normrnn._kernels.activation cimport f, f_grad


# --- shared linear algebra: the ih and hh sections are the same two loops ----

cdef void _matvec_add(const floating[:, ::1] w,  # IN  (m, n)
                      const floating[::1] x,     # IN  (n,)
                      floating[::1] out          # INOUT (m,)
                      ) noexcept nogil:
    """out[i] += sum_j w[i, j] x[j]."""
    cdef Py_ssize_t i, j
    cdef floating acc
    for i in range(w.shape[0]):
        acc = 0
        for j in range(w.shape[1]):
            acc = acc + w[i, j] * x[j]
        out[i] += acc


cdef void _outer_add_and_matvec_t_add(const floating[:, ::1] w,   # IN  (m, n)
                                      const floating[::1] x,      # IN  (n,)
                                      const floating[::1] delta,  # IN  (m,)
                                      floating[:, ::1] d_w,       # INOUT (m, n)
                                      floating[::1] d_x           # INOUT (n,)
                                      ) noexcept nogil:
    """The backward of y = w x: d_w[i, j] += delta[i] x[j]; d_x[j] += sum_i delta[i] w[i, j]."""
    cdef Py_ssize_t i, j
    cdef floating d
    for i in range(w.shape[0]):
        d = delta[i]
        for j in range(w.shape[1]):
            d_w[i, j] += d * x[j]
            d_x[j] += d * w[i, j]


# [section:activation]
cdef void _activation(const floating[::1] x,  # IN  (n,)
                      floating[::1] out       # OUT (n,)
                      ) noexcept nogil:
    """out[j] = f(x[j]) = 1 - 1 / (x[j]^2 + x[j] + 1)."""
    cdef Py_ssize_t j
    for j in range(x.shape[0]):
        out[j] = f(x[j])


cdef void _activation_backward(const floating[::1] d_state,  # IN  (H,)
                               const floating[::1] middle,   # IN  (H,)
                               floating[::1] delta           # INOUT (H,)
                               ) noexcept nogil:
    """delta[j] += d_state[j] f'(middle[j]): the gradient reaching a_t from s_{t+1}."""
    cdef Py_ssize_t j
    for j in range(middle.shape[0]):
        delta[j] += d_state[j] * f_grad(middle[j])
# [/section:activation]


# [section:logits]
cdef void _logits_forward(const floating[:, ::1] embedding,  # IN  (V, H)
                          const floating[::1] state,         # IN  (H,)
                          floating[::1] logits               # INOUT (V,)
                          ) noexcept nogil:
    """logits[i] += sum_j E[i, j] s[j]: z = E s, shape (V,)."""
    _matvec_add(embedding, state, logits)


cdef double _softmax_cross_entropy(floating[::1] logits,  # INOUT (V,) z on entry, dz on return
                                   int token              # IN  in [0, V)
                                   ) noexcept nogil:
    """Turn z into dz = softmax(z) - onehot(token) in place; return -log softmax(z)[token].

    Shifted by max(z) so exp never overflows; one exp per entry, in the
    kernel's precision; the sum is in double.  The fast kernels run the same
    formula in vector registers (``pointwise.h``, with an exp of its own):
    they agree with this loop to round-off.
    """
    cdef Py_ssize_t i
    cdef floating z_max = logits[0]
    cdef double total = 0
    for i in range(logits.shape[0]):
        if logits[i] > z_max:
            z_max = logits[i]
    cdef double loss = z_max - logits[token]
    for i in range(logits.shape[0]):
        if floating is float:                      # single-precision exp for float32
            logits[i] = expf(logits[i] - z_max)
        else:
            logits[i] = exp(logits[i] - z_max)
        total += logits[i]
    cdef floating inverse = <floating> (1 / total)
    for i in range(logits.shape[0]):
        logits[i] *= inverse
    logits[token] -= 1
    return loss + log(total)


cdef double _logits_backward(const floating[:, ::1] embedding,  # IN  (V, H)
                             const floating[::1] state,         # IN  (H,)
                             int token,                         # IN  in [0, V)
                             floating[::1] d_logits,            # OUT (V,)
                             floating[:, ::1] d_embedding,      # INOUT (V, H)
                             floating[::1] d_state              # INOUT (H,)
                             ) noexcept nogil:
    """Softmax cross-entropy of z = E s at ``token``, and its backward.

    dz = softmax(E s) - onehot(token) is written to ``d_logits`` (V,);
    d_embedding (V, H) += dz ⊗ s; d_state (H,) += E^T dz.  Returns the loss.
    """
    d_logits[:] = 0
    _logits_forward(embedding, state, d_logits)
    cdef double loss = _softmax_cross_entropy(d_logits, token)
    _outer_add_and_matvec_t_add(embedding, state, d_logits, d_embedding, d_state)
    return loss
# [/section:logits]


# [section:bias]
cdef void _bias_backward(const floating[::1] delta,  # IN  (H,)
                         floating[::1] d_bias        # INOUT (H,)
                         ) noexcept nogil:
    """d_bias[i] += delta[i]: a_t = ... + b, so da_t/db is the identity."""
    cdef Py_ssize_t i
    for i in range(delta.shape[0]):
        d_bias[i] += delta[i]
# [/section:bias]


# ih and hh (below) have the same shape on purpose: each is a matrix times a
# vector, and shares its loops (_matvec_add, _outer_add_and_matvec_t_add); the
# two sections keep their own names so each reads against its own derivation.
# [section:ih]
cdef void _ih_forward(const floating[:, ::1] ih,     # IN  (H, H)
                      const floating[::1] embedded,  # IN  (H,)
                      floating[::1] middle           # INOUT (H,)
                      ) noexcept nogil:
    """middle[i] += sum_j ih[i, j] u[j]: the input's part W_ih u_t of a_t."""
    _matvec_add(ih, embedded, middle)


cdef void _ih_backward(const floating[:, ::1] ih,     # IN  (H, H)
                       const floating[::1] embedded,  # IN  (H,)
                       const floating[::1] delta,     # IN  (H,)
                       floating[:, ::1] d_ih,         # INOUT (H, H)
                       floating[::1] d_embedded       # INOUT (H,)
                       ) noexcept nogil:
    """d_ih[i, j] += delta[i] u[j];  d_embedded[j] += sum_i delta[i] ih[i, j] (W_ih^T delta)."""
    _outer_add_and_matvec_t_add(ih, embedded, delta, d_ih, d_embedded)
# [/section:ih]


# [section:embedding_activation]
cdef void _embedding_activation_forward(const floating[:, ::1] embedding,  # IN  (V, H)
                                        int token,                         # IN  in [0, V)
                                        floating[::1] embedded             # OUT (H,)
                                        ) noexcept nogil:
    """embedded[j] = f(E[token, j]): the activated input embedding u_t."""
    _activation(embedding[token], embedded)


cdef void _embedding_activation_backward(const floating[:, ::1] embedding,  # IN  (V, H)
                                         int token,                         # IN  in [0, V)
                                         const floating[::1] d_embedded,    # IN  (H,)
                                         floating[:, ::1] d_embedding       # INOUT (V, H)
                                         ) noexcept nogil:
    """d_embedding[token, j] += d_embedded[j] f'(E[token, j]); other rows untouched."""
    cdef Py_ssize_t j
    for j in range(embedding.shape[1]):
        d_embedding[token, j] += d_embedded[j] * f_grad(embedding[token, j])
# [/section:embedding_activation]


# The same shape as ih (above) on purpose: see the comment there.
# [section:hh]
cdef void _hh_forward(const floating[:, ::1] scaled_hh,  # IN  (H, H)
                      const floating[::1] state,         # IN  (H,)
                      floating[::1] middle               # INOUT (H,)
                      ) noexcept nogil:
    """middle[i] += sum_j S[i, j] s[j]: the recurrent part S s_t of a_t."""
    _matvec_add(scaled_hh, state, middle)


cdef void _hh_backward(const floating[:, ::1] scaled_hh,  # IN  (H, H)
                       const floating[::1] state,         # IN  (H,)
                       const floating[::1] delta,         # IN  (H,)
                       floating[:, ::1] d_scaled_hh,      # INOUT (H, H)
                       floating[::1] d_state              # INOUT (H,)
                       ) noexcept nogil:
    """d_scaled_hh[i, j] += delta[i] s[j];  d_state[j] += sum_i delta[i] S[i, j] (S^T delta)."""
    _outer_add_and_matvec_t_add(scaled_hh, state, delta, d_scaled_hh, d_state)
# [/section:hh]


# [section:row_normalise]
cdef void _row_normalise(const floating[:, ::1] hh,  # IN  (H, H)
                         floating[:, ::1] scaled_hh  # OUT (H, H)
                         ) noexcept nogil:
    """scaled_hh[i, j] = hh[i, j] / (H ||hh[i]||).  Every row must be nonzero."""
    cdef Py_ssize_t i, j, H = hh.shape[1]
    cdef double sq
    cdef floating r
    for i in range(hh.shape[0]):
        sq = 0
        for j in range(H):
            sq += <double> hh[i, j] * hh[i, j]
        r = <floating> (1 / (H * sqrt(sq)))
        for j in range(H):
            scaled_hh[i, j] = hh[i, j] * r


cdef void _row_normalise_backward(const floating[:, ::1] hh,           # IN  (H, H)
                                  const floating[:, ::1] d_scaled_hh,  # IN  (H, H)
                                  floating[:, ::1] d_hh                # INOUT (H, H)
                                  ) noexcept nogil:
    """d_hh[i] += (dS[i] - (dS[i] . w_i) w_i) / (H n_i), n_i = ||hh[i]||, w_i = hh[i] / n_i.

    The gradient with respect to S, projected off row i's own direction (moving
    hh[i] along itself leaves S[i] unchanged) and scaled by r_i = 1 / (H n_i).
    """
    cdef Py_ssize_t i, j, H = hh.shape[1]
    cdef double sq, radial, r
    for i in range(hh.shape[0]):
        sq = 0
        radial = 0
        for j in range(H):
            sq += <double> hh[i, j] * hh[i, j]
            radial += <double> d_scaled_hh[i, j] * hh[i, j]
        r = 1 / (H * sqrt(sq))                 # r_i = 1 / (H n_i)
        radial = radial / sq                   # (dS[i] . w_i) / n_i
        for j in range(H):
            d_hh[i, j] += <floating> ((d_scaled_hh[i, j] - radial * hh[i, j]) * r)
# [/section:row_normalise]


# [section:gain]
cdef void _gain_forward(const floating[:, ::1] hh,  # IN  (H, H)
                        const floating[::1] gain,   # IN  (H,)
                        floating[:, ::1] scaled_hh  # OUT (H, H)
                        ) noexcept nogil:
    """scaled_hh[i, j] = gain[i] hh[i, j] / ||hh[i]||.  Every row must be nonzero.

    The row normalisation with the fixed 1/H replaced by a learned gamma_i; with
    gamma_i = 1/H and H a power of two it rounds exactly as ``_row_normalise``.
    """
    cdef Py_ssize_t i, j, H = hh.shape[1]
    cdef double sq
    cdef floating r
    for i in range(hh.shape[0]):
        sq = 0
        for j in range(H):
            sq += <double> hh[i, j] * hh[i, j]
        r = <floating> (gain[i] / sqrt(sq))     # gamma_i / n_i
        for j in range(H):
            scaled_hh[i, j] = hh[i, j] * r


cdef void _gain_backward(const floating[:, ::1] hh,           # IN  (H, H)
                         const floating[::1] gain,            # IN  (H,)
                         const floating[:, ::1] d_scaled_hh,  # IN  (H, H)
                         floating[:, ::1] d_hh,               # INOUT (H, H)
                         floating[::1] d_gain                 # INOUT (H,)
                         ) noexcept nogil:
    """d_gain[i] += dS[i] . w_i;  d_hh[i] += (gamma_i / n_i) (dS[i] - (dS[i] . w_i) w_i).

    n_i = ||hh[i]||, w_i = hh[i] / n_i.  The gain takes the radial part of
    dS[i] (the one direction the row normalisation throws away); ``hh`` gets
    the rest, projected off w_i and scaled by gamma_i / n_i.  With gamma_i = 1/H this
    is ``_row_normalise_backward``.
    """
    cdef Py_ssize_t i, j, H = hh.shape[1]
    cdef double sq, radial, norm, r
    for i in range(hh.shape[0]):
        sq = 0
        radial = 0
        for j in range(H):
            sq += <double> hh[i, j] * hh[i, j]
            radial += <double> d_scaled_hh[i, j] * hh[i, j]
        norm = sqrt(sq)
        d_gain[i] += <floating> (radial / norm)  # dS[i] . w_i
        r = gain[i] / norm                       # gamma_i / n_i
        radial = radial / sq                     # (dS[i] . w_i) / n_i
        for j in range(H):
            d_hh[i, j] += <floating> ((d_scaled_hh[i, j] - radial * hh[i, j]) * r)
# [/section:gain]


# --- def wrappers: the kernels, unchecked, callable from Python --------------
# normrnn.sections checks the arguments and allocates the outputs; tests and
# the docs call these through it.

def activation(const floating[::1] x,  # IN  (n,)
               floating[::1] out):     # OUT (n,)
    """out = f(x), elementwise.  Unchecked: see :func:`normrnn.sections.activation`."""
    with nogil:
        _activation(x, out)


def activation_backward(const floating[::1] d_state,  # IN  (H,)
                        const floating[::1] middle,   # IN  (H,)
                        floating[::1] delta):         # INOUT (H,)
    """delta += d_state * f'(middle).  Unchecked."""
    with nogil:
        _activation_backward(d_state, middle, delta)


def logits_forward(const floating[:, ::1] embedding,  # IN  (V, H)
                   const floating[::1] state,         # IN  (H,)
                   floating[::1] logits):             # INOUT (V,)
    """logits += E s.  Unchecked."""
    with nogil:
        _logits_forward(embedding, state, logits)


def logits_backward(const floating[:, ::1] embedding,  # IN  (V, H)
                    const floating[::1] state,         # IN  (H,)
                    int token,                         # IN  in [0, V)
                    floating[::1] d_logits,            # OUT (V,)
                    floating[:, ::1] d_embedding,      # INOUT (V, H)
                    floating[::1] d_state):            # INOUT (H,)
    """Loss at ``token``; d_logits = dz; d_embedding += dz ⊗ s; d_state += E^T dz.  Unchecked."""
    cdef double loss
    with nogil:
        loss = _logits_backward(embedding, state, token, d_logits, d_embedding, d_state)
    return loss


def bias_backward(const floating[::1] delta,  # IN  (H,)
                  floating[::1] d_bias):      # INOUT (H,)
    """d_bias += delta.  Unchecked."""
    with nogil:
        _bias_backward(delta, d_bias)


def ih_forward(const floating[:, ::1] ih,     # IN  (H, H)
               const floating[::1] embedded,  # IN  (H,)
               floating[::1] middle):         # INOUT (H,)
    """middle += W_ih u.  Unchecked."""
    with nogil:
        _ih_forward(ih, embedded, middle)


def ih_backward(const floating[:, ::1] ih,     # IN  (H, H)
                const floating[::1] embedded,  # IN  (H,)
                const floating[::1] delta,     # IN  (H,)
                floating[:, ::1] d_ih,         # INOUT (H, H)
                floating[::1] d_embedded):     # INOUT (H,)
    """d_ih += delta ⊗ u; d_embedded += W_ih^T delta.  Unchecked."""
    with nogil:
        _ih_backward(ih, embedded, delta, d_ih, d_embedded)


def embedding_activation_forward(const floating[:, ::1] embedding,  # IN  (V, H)
                                 int token,                         # IN  in [0, V)
                                 floating[::1] embedded):           # OUT (H,)
    """embedded = f(E[token]).  Unchecked."""
    with nogil:
        _embedding_activation_forward(embedding, token, embedded)


def embedding_activation_backward(const floating[:, ::1] embedding,  # IN  (V, H)
                                  int token,                         # IN  in [0, V)
                                  const floating[::1] d_embedded,    # IN  (H,)
                                  floating[:, ::1] d_embedding):     # INOUT (V, H)
    """d_embedding[token] += d_embedded * f'(E[token]).  Unchecked."""
    with nogil:
        _embedding_activation_backward(embedding, token, d_embedded, d_embedding)


def hh_forward(const floating[:, ::1] scaled_hh,  # IN  (H, H)
               const floating[::1] state,         # IN  (H,)
               floating[::1] middle):             # INOUT (H,)
    """middle += S s.  Unchecked."""
    with nogil:
        _hh_forward(scaled_hh, state, middle)


def hh_backward(const floating[:, ::1] scaled_hh,  # IN  (H, H)
                const floating[::1] state,         # IN  (H,)
                const floating[::1] delta,         # IN  (H,)
                floating[:, ::1] d_scaled_hh,      # INOUT (H, H)
                floating[::1] d_state):            # INOUT (H,)
    """d_scaled_hh += delta ⊗ s; d_state += S^T delta.  Unchecked."""
    with nogil:
        _hh_backward(scaled_hh, state, delta, d_scaled_hh, d_state)


def row_normalise(const floating[:, ::1] hh,    # IN  (H, H)
                  floating[:, ::1] scaled_hh):  # OUT (H, H)
    """scaled_hh = hh / (H ||hh[i]||) row by row.  Unchecked: zero rows divide by zero."""
    with nogil:
        _row_normalise(hh, scaled_hh)


def row_normalise_backward(const floating[:, ::1] hh,           # IN  (H, H)
                           const floating[:, ::1] d_scaled_hh,  # IN  (H, H)
                           floating[:, ::1] d_hh):              # INOUT (H, H)
    """d_hh += the row normalisation's backward of d_scaled_hh.  Unchecked."""
    with nogil:
        _row_normalise_backward(hh, d_scaled_hh, d_hh)


def gain_forward(const floating[:, ::1] hh,    # IN  (H, H)
                 const floating[::1] gain,     # IN  (H,)
                 floating[:, ::1] scaled_hh):  # OUT (H, H)
    """scaled_hh = gain[i] hh[i] / ||hh[i]|| row by row.  Unchecked: zero rows divide by zero."""
    with nogil:
        _gain_forward(hh, gain, scaled_hh)


def gain_backward(const floating[:, ::1] hh,           # IN  (H, H)
                  const floating[::1] gain,            # IN  (H,)
                  const floating[:, ::1] d_scaled_hh,  # IN  (H, H)
                  floating[:, ::1] d_hh,               # INOUT (H, H)
                  floating[::1] d_gain):               # INOUT (H,)
    """d_hh, d_gain += the gain section's backward of d_scaled_hh.  Unchecked."""
    with nogil:
        _gain_backward(hh, gain, d_scaled_hh, d_hh, d_gain)
