"""d_embedded = W_ih delta: the transpose forgotten.

diagnosis: W_ih delta where W_ih^T delta is due
"""

import numpy as np


def ih_backward(ih, embedded, delta):
    return np.outer(delta, embedded), ih @ delta
