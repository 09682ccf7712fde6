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
    cdef floating q = x * x + x + 1
    return (2 * x + 1) / (q * q)
