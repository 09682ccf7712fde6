"""dS[i] + (dS[i] . w_i) w_i: the projection added where it is subtracted."""

import numpy as np


def row_normalise_backward(hh, d_scaled_hh):
    H = hh.shape[1]
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    return (d_scaled_hh + np.sum(d_scaled_hh * w, axis=1, keepdims=True) * w) / (H * n)
