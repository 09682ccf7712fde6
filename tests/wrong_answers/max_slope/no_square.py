"""f' without the square in its denominator.

diagnosis: without the square
"""

import numpy as np


def max_slope():
    r = np.sqrt(3.0)
    return 2 / r, np.array([(-1 - r) / 2, (-1 + r) / 2])
