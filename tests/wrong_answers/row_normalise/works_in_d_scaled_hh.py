"""Works in place in its input d_scaled_hh, and returns it."""

import numpy as np


def row_normalise_backward(hh, d_scaled_hh):
    H = hh.shape[1]
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    d_scaled_hh -= np.sum(d_scaled_hh * w, axis=1, keepdims=True) * w
    d_scaled_hh /= H * n
    return d_scaled_hh
