"""Only the target entry of dz: dz = (p[x] - 1) at x, zero elsewhere.

diagnosis: only the target entry of dz
"""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    d_embedding = np.zeros_like(embedding)
    d_embedding[token] = (p[token] - 1.0) * state
    d_state = (p[token] - 1.0) * embedding[token]
    return float(-np.log(p[token])), d_embedding, d_state
