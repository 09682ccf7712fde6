"""p = exp(z), never divided by its sum."""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z)
    loss = -np.log(p[token] / p.sum())
    dz = p.copy()
    dz[token] -= 1.0
    return float(loss), np.outer(dz, state), embedding.T @ dz
