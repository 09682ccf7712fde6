"""The 1/H of S = hh / (H n) forgotten in the backward.

diagnosis: d_hh: scaled by H
"""

import numpy as np


def row_normalise_backward(hh, d_scaled_hh):
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    return (d_scaled_hh - np.sum(d_scaled_hh * w, axis=1, keepdims=True) * w) / n
