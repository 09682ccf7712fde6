"""Loops into np.zeros((H, H)): float64 results whatever the inputs' dtype."""

import numpy as np


def ih_backward(ih, embedded, delta):
    H = len(delta)
    d_ih = np.zeros((H, H))
    d_embedded = np.zeros(H)
    for i in range(H):
        for j in range(H):
            d_ih[i, j] = delta[i] * embedded[j]
            d_embedded[j] += ih[i, j] * delta[i]
    return d_ih, d_embedded
