"""A loop over range(len(middle) - 1): the last entry stays zero."""

import numpy as np


def activation_backward(d_state, middle):
    delta = np.zeros_like(middle)
    for i in range(len(middle) - 1):
        q = middle[i] ** 2 + middle[i] + 1.0
        delta[i] = d_state[i] * (2.0 * middle[i] + 1.0) / q**2
    return delta
