"""The loss is -z[x]: the log of the softmax's normaliser is left out."""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    dz = p.copy()
    dz[token] -= 1.0
    return float(-z[token]), np.outer(dz, state), embedding.T @ dz
