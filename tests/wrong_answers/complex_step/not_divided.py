"""Im f(x + ih), not divided by h.

diagnosis: not divided by h
"""


def complex_step(middle):
    h = 1e-3
    z = middle + 1j * h
    return (1 - 1 / (z * z + z + 1)).imag
