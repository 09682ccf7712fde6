"""Kernels for tests only: every level of ``pointwise.h``, one at a time.

The kernels pick the widest level this CPU runs; the tests call each level
the CPU offers through :func:`activate`, :func:`activate_and_grad`, :func:`exp`
and :func:`softmax_cross_entropy`, and check that all give the same bits.
Nothing in the model calls this module.
"""

from cython cimport floating

cdef extern from "pointwise.h" nogil:
    int normrnn_cpu_level()
    int normrnn_pointwise_variant_count()
    ctypedef void (*activate_d_fn)(int, const double *, double *)
    ctypedef void (*activate_f_fn)(int, const float *, float *)
    ctypedef void (*activate_and_grad_d_fn)(int, double *, double *)
    ctypedef void (*activate_and_grad_f_fn)(int, float *, float *)
    ctypedef void (*exp_d_fn)(int, double *, double)
    ctypedef void (*exp_f_fn)(int, float *, float)
    ctypedef double (*softmax_d_fn)(int, double *, int)
    ctypedef double (*softmax_f_fn)(int, float *, int)
    ctypedef struct _Variant:
        const char *name
        int level
        activate_d_fn activate_d
        activate_f_fn activate_f
        activate_and_grad_d_fn activate_and_grad_d
        activate_and_grad_f_fn activate_and_grad_f
        exp_d_fn exp_shifted_d
        exp_f_fn exp_shifted_f
        softmax_d_fn softmax_xent_d
        softmax_f_fn softmax_xent_f
    const _Variant normrnn_pointwise_variants[]

__all__ = ["variants", "cpu_level", "activate", "activate_and_grad", "exp",
           "softmax_cross_entropy"]


def variants():
    """Every level of this build.

    Level 4 is x86-64-v4 (AVX-512), 3 x86-64-v3 (AVX2), 1 the baseline;
    level 0 a build for one ``-march`` alone.  Call only the levels the CPU
    runs (:func:`cpu_level`).

    Returns
    -------
    list of (int, str, int)
        (index, name, level) of each.
    """
    cdef int v
    return [(v, normrnn_pointwise_variants[v].name.decode(), normrnn_pointwise_variants[v].level)
            for v in range(normrnn_pointwise_variant_count())]


def cpu_level():
    """The widest level this CPU runs.

    Returns
    -------
    int
        4, 3 or 1 (0 for a build for one ``-march``).
    """
    return normrnn_cpu_level()


cdef int _checked(int variant) except -1:
    """``variant``, if it exists and this CPU runs its level (else ValueError, not SIGILL)."""
    cdef int cpu = normrnn_cpu_level()
    if not 0 <= variant < normrnn_pointwise_variant_count():
        raise ValueError(f"no pointwise variant {variant}")
    if cpu != 0 and normrnn_pointwise_variants[variant].level > cpu:
        raise ValueError(f"pointwise variant {variant} needs x86-64-v"
                         f"{normrnn_pointwise_variants[variant].level}; this CPU runs v{cpu}")
    return variant


def activate(const floating[::1] a, floating[::1] s, int variant):
    """s = f(a) = 1 - 1 / (a^2 + a + 1), elementwise, through one level's kernel.

    Parameters
    ----------
    a : ndarray, shape (n,), float32 or float64, C-contiguous
    s : ndarray, shape (n,), same dtype
        Overwritten with f(a).
    variant : int
        An index from :func:`variants` whose level this CPU runs.
    """
    if s.shape[0] != a.shape[0]:
        raise ValueError("activate needs a and s of one length")
    _checked(variant)
    if a.shape[0] == 0:
        return
    if floating is double:
        normrnn_pointwise_variants[variant].activate_d(<int> a.shape[0], &a[0], &s[0])
    else:
        normrnn_pointwise_variants[variant].activate_f(<int> a.shape[0], &a[0], &s[0])


def activate_and_grad(floating[::1] a, floating[::1] s, int variant):
    """``s = f(a)``, then ``a = f'(a)``, elementwise, through one level's kernel.

    :math:`f(a) = 1 - r` and :math:`f'(a) = (2a + 1) r^2`, computed as
    :math:`(2 (a r) + r) r`, from the one division :math:`r = 1 / (a^2 + a + 1)`:
    the forward pass keeps f'(a_t) where it held a_t, for the backward.

    Parameters
    ----------
    a : ndarray, shape (n,), float32 or float64, C-contiguous
        Pre-activations; overwritten with f'(a).
    s : ndarray, shape (n,), same dtype
        Gets f(a).
    variant : int
        An index from :func:`variants` whose level this CPU runs.
    """
    if s.shape[0] != a.shape[0]:
        raise ValueError("activate_and_grad needs a and s of one length")
    _checked(variant)
    if a.shape[0] == 0:
        return
    if floating is double:
        normrnn_pointwise_variants[variant].activate_and_grad_d(<int> a.shape[0], &a[0], &s[0])
    else:
        normrnn_pointwise_variants[variant].activate_and_grad_f(<int> a.shape[0], &a[0], &s[0])


def exp(floating[::1] x, int variant):
    """x = exp(x) in place, for x <= 0, through one level's exp (the softmax's).

    Parameters
    ----------
    x : ndarray, shape (n,), float32 or float64, C-contiguous
        Arguments at most 0; below ln of the smallest normal number the
        result is 0.
    variant : int
        An index from :func:`variants` whose level this CPU runs.
    """
    _checked(variant)
    if x.shape[0] == 0:
        return
    if floating is double:
        normrnn_pointwise_variants[variant].exp_shifted_d(<int> x.shape[0], &x[0], 0)
    else:
        normrnn_pointwise_variants[variant].exp_shifted_f(<int> x.shape[0], &x[0], 0)


def softmax_cross_entropy(floating[::1] z, int token, int variant):
    """z becomes softmax(z) - onehot(token); returns -log softmax(z)[token].

    Through one level's kernel; the fast kernels' softmax of a scored row.

    Parameters
    ----------
    z : ndarray, shape (n,), float32 or float64, C-contiguous
        The logits; overwritten with dz.
    token : int
        In [0, n).
    variant : int
        An index from :func:`variants` whose level this CPU runs.

    Returns
    -------
    float
        The loss, computed in double.
    """
    if not 0 <= token < z.shape[0]:
        raise ValueError("softmax_cross_entropy needs 0 <= token < len(z)")
    _checked(variant)
    if floating is double:
        return normrnn_pointwise_variants[variant].softmax_xent_d(<int> z.shape[0], &z[0], token)
    else:
        return normrnn_pointwise_variants[variant].softmax_xent_f(<int> z.shape[0], &z[0], token)
