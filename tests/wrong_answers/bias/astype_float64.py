"""delta.astype(np.float64): a copy, but always float64."""

import numpy as np


def bias_backward(delta):
    return delta.astype(np.float64)
