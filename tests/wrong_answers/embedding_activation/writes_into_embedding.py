"""Takes an SGD step on the input embedding while it is at it."""

import numpy as np


def embedding_activation_backward(embedding, token, d_embedded):
    d_embedding = np.zeros_like(embedding)
    x = embedding[token]
    d_embedding[token] = d_embedded * (2 * x + 1) / (x * x + x + 1) ** 2
    embedding[token] -= 0.1 * d_embedding[token]
    return d_embedding
