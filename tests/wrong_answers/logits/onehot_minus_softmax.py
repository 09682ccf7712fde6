"""dz = onehot(x) - softmax(E s): the sign of dz flipped.

diagnosis: sign flipped
"""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    dz = -p
    dz[token] += 1.0
    return float(-np.log(p[token])), np.outer(dz, state), embedding.T @ dz
