"""The projection right, but never divided by the row's norm.

diagnosis: not divided by the row's norm
"""

import numpy as np


def row_normalise_backward(hh, d_scaled_hh):
    H = hh.shape[1]
    w = hh / np.linalg.norm(hh, axis=1, keepdims=True)
    return (d_scaled_hh - np.sum(d_scaled_hh * w, axis=1, keepdims=True) * w) / H
