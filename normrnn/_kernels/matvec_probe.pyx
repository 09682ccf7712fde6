"""Kernels for tests and benchmarks only: the sequential product alone.

:func:`matvec_t_add` exposes ``matvec.h``'s y += M^T x to the tests;
:func:`sequential_products` times a chain of them (or of BLAS gemv) for
``normrnn bench``.  Nothing in the model calls this module.
"""

from cython cimport floating

from normrnn._kernels.blas cimport gemv
from normrnn._kernels.matvec cimport _matvec_t_add
from normrnn._kernels.bptt_gathered import _aligned_empty as aligned_empty

__all__ = ["aligned_empty", "matvec_t_add", "sequential_products"]


def matvec_t_add(const floating[:, ::1] m, const floating[::1] x, floating[::1] y):
    """y += m^T x, the sequential product, through ``matvec.h``'s kernel (for tests).

    Parameters
    ----------
    m : ndarray, shape (rows, cols), C-contiguous
    x : ndarray, shape (rows,)
    y : ndarray, shape (cols,), same dtype; updated in place.

    Raises
    ------
    ValueError
        If the shapes do not fit.
    """
    if x.shape[0] != m.shape[0] or y.shape[0] != m.shape[1]:
        raise ValueError(f"matvec_t_add needs m (rows, cols), x (rows,), y (cols,); "
                         f"got ({m.shape[0]}, {m.shape[1]}), {x.shape[0]}, {y.shape[0]}")
    if m.shape[0] == 0 or m.shape[1] == 0:
        return
    with nogil:
        _matvec_t_add(<int> m.shape[0], <int> m.shape[1], &m[0, 0], &x[0], &y[0])


def sequential_products(const floating[:, ::1] m, floating[:, ::1] xs, bint blas=False):
    """xs[k] = m^T xs[k-1] for k = 1 .. n-1: a chain of dependent products (for benchmarks).

    Each product needs the one before it, as S s_t and S^T delta_t do in
    BPTT, so the chain times the sequential part of a document alone.  With
    ``blas``, every product is BLAS gemv instead of ``matvec.h``'s kernel.

    Parameters
    ----------
    m : ndarray, shape (H, H), C-contiguous
        Should preserve norms (orthogonal, say), so that the chain neither
        overflows nor sinks into slow subnormal numbers.
    xs : ndarray, shape (n, H), same dtype
        xs[0] is the start; rows 1 .. n-1 are overwritten.
    blas : bool, optional
    """
    cdef Py_ssize_t H = m.shape[0], k, j
    if m.shape[1] != H or xs.shape[1] != H:
        raise ValueError(f"sequential_products needs m (H, H) and xs (n, H); "
                         f"got ({m.shape[0]}, {m.shape[1]}) and ({xs.shape[0]}, {xs.shape[1]})")
    with nogil:
        for k in range(1, xs.shape[0]):
            if blas:
                gemv(True, H, H, 1, &m[0, 0], H, &xs[k - 1, 0], 0, &xs[k, 0])
            else:
                for j in range(H):
                    xs[k, j] = 0
                _matvec_t_add(H, H, &m[0, 0], &xs[k - 1, 0], &xs[k, 0])
