"""The loss is 1 - p[x], not -log p[x]."""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    dz = p.copy()
    dz[token] -= 1.0
    return float(1.0 - p[token]), np.outer(dz, state), embedding.T @ dz
