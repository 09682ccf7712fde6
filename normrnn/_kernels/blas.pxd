# Row-major matrix products on top of scipy's BLAS, for float32 and float64.
#
# BLAS is column-major: a row-major (M, N) array is the column-major (N, M)
# array of its transpose.  So the row-major C = op(A) op(B) is computed as the
# column-major C^T = op(B)^T op(A)^T: swap the operands and M with N.

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm, dgemv, sgemv


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating *a, int lda,
                      const floating *b, int ldb,
                      floating beta, floating *c, int ldc) noexcept nogil:
    """c (m, n) = alpha op(a) op(b) + beta c, row-major; op(a) is (m, k)."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m == 0 or n == 0:
        return
    if floating is double:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *> b, &ldb,
              <double *> a, &lda, &beta, c, &ldc)
    else:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *> b, &ldb,
              <float *> a, &lda, &beta, c, &ldc)


cdef inline void gemv(bint trans_a, int m, int n, floating alpha,
                      const floating *a, int lda, const floating *x,
                      floating beta, floating *y) noexcept nogil:
    """y = alpha op(a) x + beta y, with a row-major (m, n)."""
    cdef char ta = b'N' if trans_a else b'T'   # row-major a is column-major a^T
    cdef int one = 1
    if floating is double:
        dgemv(&ta, &n, &m, &alpha, <double *> a, &lda, <double *> x, &one,
              &beta, y, &one)
    else:
        sgemv(&ta, &n, &m, &alpha, <float *> a, &lda, <float *> x, &one,
              &beta, y, &one)
