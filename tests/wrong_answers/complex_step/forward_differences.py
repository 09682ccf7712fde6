"""Forward differences.

diagnosis: finite differences
"""


def complex_step(middle):
    h = 1e-8
    f = lambda x: 1 - 1 / (x * x + x + 1)  # noqa: E731
    return (f(middle + h) - f(middle)) / h
