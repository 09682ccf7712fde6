# The activation and its derivative, inlined wherever a kernel needs them.
#
#     f(x)  = 1 - 1 / (x^2 + x + 1)
#     f'(x) = (2x + 1) / (x^2 + x + 1)^2
#
# x^2 + x + 1 >= 3/4 for every real x, so neither divides by zero.  The
# constants are typed: a literal 1 or 2 would become a C double and pull
# float32 arithmetic up to double precision (and out of SIMD registers).

from cython cimport floating


cdef inline floating f(floating x) noexcept nogil:
    cdef floating one = 1
    return one - one / (x * x + x + one)


cdef inline floating f_grad(floating x) noexcept nogil:
    # (2x + 1) / q^2 = (2 (x r) + r) r with r = 1 / q: one division, and no
    # overflow for |x| near the largest float, where 2x + 1 and q^2 would
    # (inf / inf); there q is inf, r is 0 and so is the result, as 2 / x^3 is
    cdef floating one = 1, two = 2
    cdef floating r = one / (x * x + x + one)
    return (two * (x * r) + r) * r
