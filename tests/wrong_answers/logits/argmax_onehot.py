"""The one-hot at argmax(z), the most likely token, instead of at the target."""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    loss = -np.log(p[token])
    dz = p.copy()
    dz[np.argmax(z)] -= 1.0
    return float(loss), np.outer(dz, state), embedding.T @ dz
