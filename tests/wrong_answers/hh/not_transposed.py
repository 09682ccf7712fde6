"""d_state = S delta: the transpose forgotten.

diagnosis: S delta where S^T delta is due
"""

import numpy as np


def hh_backward(scaled_hh, state, delta):
    return np.outer(delta, state), scaled_hh @ delta
