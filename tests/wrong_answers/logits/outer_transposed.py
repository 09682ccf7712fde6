"""dE = s (x) dz: the outer product the wrong way round, shape (H, V).

message: it is the right answer transposed
"""

import numpy as np


def logits_backward(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    dz = p.copy()
    dz[token] -= 1.0
    return float(-np.log(p[token])), np.outer(state, dz), embedding.T @ dz
