"""np.zeros(len(middle)): a float64 result whatever the inputs' dtype."""

import numpy as np


def activation_backward(d_state, middle):
    delta = np.zeros(len(middle))
    for i in range(len(middle)):
        q = middle[i] ** 2 + middle[i] + 1.0
        delta[i] = d_state[i] * (2.0 * middle[i] + 1.0) / q**2
    return delta
