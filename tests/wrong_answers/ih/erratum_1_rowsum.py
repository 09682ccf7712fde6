"""d_embedded = delta * rowsum(W_ih), as the notes' first erratum has it.

diagnosis: erratum 1
"""

import numpy as np


def ih_backward(ih, embedded, delta):
    return np.outer(delta, embedded), delta * ih.sum(axis=1)
