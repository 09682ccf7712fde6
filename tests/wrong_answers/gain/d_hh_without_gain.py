"""d_hh without the factor gamma_i."""

import numpy as np


def gain_backward(hh, gain, d_scaled_hh):
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    radial = np.sum(d_scaled_hh * w, axis=1, keepdims=True)
    return (d_scaled_hh - radial * w) / n, radial[:, 0]
