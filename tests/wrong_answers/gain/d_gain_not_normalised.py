"""d_gain = dS[i] . hh[i]: the row, not its direction.

diagnosis: d_gain not divided by the row's norm
"""

import numpy as np


def gain_backward(hh, gain, d_scaled_hh):
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    radial = np.sum(d_scaled_hh * w, axis=1, keepdims=True)
    return gain[:, None] * (d_scaled_hh - radial * w) / n, np.sum(d_scaled_hh * hh, axis=1)
