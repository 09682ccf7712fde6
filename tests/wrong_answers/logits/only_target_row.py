"""Only the target row of dE: the learner thinks only E[x] touches the loss.

diagnosis: only the target row of dE
"""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    dz = p.copy()
    dz[token] -= 1.0
    d_embedding = np.zeros_like(embedding)
    d_embedding[token] = dz[token] * state
    return float(-np.log(p[token])), d_embedding, embedding.T @ dz
