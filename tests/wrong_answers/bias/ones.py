"""Ones: da/db is 1, and the incoming delta is forgotten."""

import numpy as np


def bias_backward(delta):
    return np.ones_like(delta)
