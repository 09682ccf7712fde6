# y += M^T x, the one product BPTT must run token after token (matvec.h).

from cython cimport floating


cdef extern from "matvec.h" nogil:
    void normrnn_matvec_t_add_d(int rows, int cols, const double *m,
                                const double *x, double *y)
    void normrnn_matvec_t_add_f(int rows, int cols, const float *m,
                                const float *x, float *y)


cdef inline void _matvec_t_add(int rows, int cols, const floating *m,
                              const floating *x, floating *y) noexcept nogil:
    """y (cols,) += m^T x for a row-major m (rows, cols) and x (rows,)."""
    if floating is double:
        normrnn_matvec_t_add_d(rows, cols, m, x, y)
    else:
        normrnn_matvec_t_add_f(rows, cols, m, x, y)
