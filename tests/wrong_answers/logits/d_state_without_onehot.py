"""d_state = E^T p: the one-hot is subtracted for dE but not for d_state.

diagnosis: d_state: the one-hot is not subtracted
"""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    d_state = embedding.T @ p
    dz = p.copy()
    dz[token] -= 1.0
    return float(-np.log(p[token])), np.outer(dz, state), d_state
