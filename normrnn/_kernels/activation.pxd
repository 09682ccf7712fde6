# The activation and its derivative, inlined wherever a kernel needs them.
#
#     f(x)  = 1 - 1 / (x^2 + x + 1)
#     f'(x) = (2x + 1) / (x^2 + x + 1)^2
#
# x^2 + x + 1 >= 3/4 for every real x, so neither divides by zero.

from cython cimport floating


cdef inline floating f(floating x) noexcept nogil:
    return 1 - 1 / (x * x + x + 1)


cdef inline floating f_grad(floating x) noexcept nogil:
    # (2x + 1) / q^2, divided as 2 (x / q) / q + 1 / q^2: for |x| near the
    # largest float, 2x + 1 and q^2 overflow (inf / inf), their quotients don't
    cdef floating q = x * x + x + 1
    return (2 * (x / q) + 1 / q) / q
