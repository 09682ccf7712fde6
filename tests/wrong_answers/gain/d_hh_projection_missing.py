"""d_hh = gamma_i dS[i] / n_i: the projection missing.

diagnosis: the projection is missing from d_hh
"""

import numpy as np


def gain_backward(hh, gain, d_scaled_hh):
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    return gain[:, None] * d_scaled_hh / n, np.sum(d_scaled_hh * w, axis=1)
