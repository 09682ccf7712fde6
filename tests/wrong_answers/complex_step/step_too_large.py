"""The complex step with h = 1e-3.

diagnosis: too large
"""


def complex_step(middle):
    h = 1e-3
    z = middle + 1j * h
    return (1 - 1 / (z * z + z + 1)).imag / h
