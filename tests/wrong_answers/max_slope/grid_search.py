"""A grid search: close, not exact.

diagnosis: close but not exact
"""

import numpy as np


def max_slope():
    x = np.linspace(-3, 3, 60001) + 1e-5
    slope = np.abs((2 * x + 1) / (x * x + x + 1) ** 2)
    left, right = x < -0.5, x >= -0.5
    return slope.max(), np.array([x[left][np.argmax(slope[left])], x[right][np.argmax(slope[right])]])
