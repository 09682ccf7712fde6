# y += M^T x, the one product BPTT must run token after token (matvec.h).

from cython cimport floating


cdef extern from "matvec.h" nogil:
    void normrnn_matvec_t_add_d(int rows, int cols, const double *m,
                                const double *x, double *y)
    void normrnn_matvec_t_add_f(int rows, int cols, const float *m,
                                const float *x, float *y)
    void normrnn_matvec_variant_d(int v, int rows, int cols, const double *m,
                                  const double *x, double *y)
    void normrnn_matvec_variant_f(int v, int rows, int cols, const float *m,
                                  const float *x, float *y)


cdef inline void _matvec_t_add(int rows, int cols, const floating *m,
                              const floating *x, floating *y) noexcept nogil:
    """y (cols,) += m^T x for a row-major m (rows, cols) and x (rows,)."""
    if floating is double:
        normrnn_matvec_t_add_d(rows, cols, m, x, y)
    else:
        normrnn_matvec_t_add_f(rows, cols, m, x, y)


cdef inline void _matvec_t_add_variant(int variant, int rows, int cols, const floating *m,
                                      const floating *x, floating *y) noexcept nogil:
    """y += m^T x through one of matvec.h's variants (normrnn.kernel_choice picks it)."""
    if floating is double:
        normrnn_matvec_variant_d(variant, rows, cols, m, x, y)
    else:
        normrnn_matvec_variant_f(variant, rows, cols, m, x, y)
