"""np.asarray(delta): looks like a conversion, returns the same array."""

import numpy as np


def bias_backward(delta):
    return np.asarray(delta)
