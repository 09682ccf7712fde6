"""Central differences: exact to 1e-10 at best, not 1e-15.

diagnosis: finite differences
"""


def complex_step(middle):
    h = 1e-6
    f = lambda x: 1 - 1 / (x * x + x + 1)  # noqa: E731
    return (f(middle + h) - f(middle - h)) / (2 * h)
