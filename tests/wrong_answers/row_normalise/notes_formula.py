"""The notes' line dS * (-1/(n H)^2) * (H / (2n)), copied as written.

diagnosis: erratum 3
"""

import numpy as np


def row_normalise_backward(hh, d_scaled_hh):
    H = hh.shape[1]
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    return d_scaled_hh * (-1 / (n * H) ** 2) * (H / (2 * n))
