"""d_hh as the row normalisation's, 1/H where the gain gamma_i is due.

diagnosis: the notes' 1/H where gamma_i is due
"""

import numpy as np


def gain_backward(hh, gain, d_scaled_hh):
    H = hh.shape[1]
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    radial = np.sum(d_scaled_hh * w, axis=1, keepdims=True)
    return (d_scaled_hh - radial * w) / (H * n), radial[:, 0]
