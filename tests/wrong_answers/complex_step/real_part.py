"""The real part, not the imaginary.

diagnosis: the real part
"""


def complex_step(middle):
    h = 1e-20
    z = middle + 1j * h
    return (1 - 1 / (z * z + z + 1)).real / h
