# The per-number work of a step in vector registers (pointwise.h), for the
# fast kernels (bptt_gathered.pyx, lockstep.pyx).  Each gives the same bits on
# every CPU; f and f' give exactly the bits of activation.pxd's f and f_grad.
# The section kernels keep their plain loops (section_kernels.pyx), to read.

from cython cimport floating

cdef extern from "pointwise.h" nogil:
    void normrnn_activate_d(int n, const double *a, double *s)
    void normrnn_activate_f(int n, const float *a, float *s)
    void normrnn_activate_and_grad_d(int n, double *a, double *s)
    void normrnn_activate_and_grad_f(int n, float *a, float *s)
    double normrnn_softmax_xent_d(int n, double *z, int token)
    double normrnn_softmax_xent_f(int n, float *z, int token)


cdef inline void _activate(Py_ssize_t n, const floating *middles, floating *states) noexcept nogil:
    """states[i] = f(middles[i]) for n numbers."""
    if floating is double:
        normrnn_activate_d(<int> n, middles, states)
    else:
        normrnn_activate_f(<int> n, middles, states)


cdef inline void _activate_and_grad(Py_ssize_t n, floating *middles, floating *states) noexcept nogil:
    """states[i] = f(middles[i]), then middles[i] = f'(middles[i]): one division for both.

    The forward keeps f'(a_t) where it held a_t, for the backward's
    delta *= f'(a) (:func:`_times`); the bits of f and f' are those of
    activation.pxd's f and f_grad, as with :func:`_activate`.
    """
    if floating is double:
        normrnn_activate_and_grad_d(<int> n, middles, states)
    else:
        normrnn_activate_and_grad_f(<int> n, middles, states)


cdef inline void _times(Py_ssize_t n, const floating *factors, floating *deltas) noexcept nogil:
    """deltas[i] *= factors[i] for n numbers (the backward's delta *= f'(a), f' kept)."""
    cdef Py_ssize_t i
    for i in range(n):
        deltas[i] *= factors[i]


cdef inline double _softmax_cross_entropy(floating[::1] logits, int token) noexcept nogil:
    """logits z become dz = softmax(z) - onehot(token); returns -log softmax(z)[token].

    section_kernels.pyx's kernel of the same name, with pointwise.h's exp
    (within 1 unit in the last place) and its fixed order of the sum.
    """
    if floating is double:
        return normrnn_softmax_xent_d(<int> logits.shape[0], &logits[0], token)
    else:
        return normrnn_softmax_xent_f(<int> logits.shape[0], &logits[0], token)
