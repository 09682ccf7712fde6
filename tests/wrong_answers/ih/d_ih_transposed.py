"""d_ih = u (x) delta: the outer product transposed; d_embedded right.

diagnosis: d_ih: transposed
"""

import numpy as np


def ih_backward(ih, embedded, delta):
    return np.outer(embedded, delta), ih.T @ delta
