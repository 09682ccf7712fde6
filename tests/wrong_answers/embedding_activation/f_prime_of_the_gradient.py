"""f' evaluated at the incoming gradient du instead of at E[x]."""

import numpy as np


def embedding_activation_backward(embedding, token, d_embedded):
    d_embedding = np.zeros_like(embedding)
    g = d_embedded
    d_embedding[token] = g * (2 * g + 1) / (g * g + g + 1) ** 2
    return d_embedding
