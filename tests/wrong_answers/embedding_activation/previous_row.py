"""Row token - 1: an index shifted by one."""

import numpy as np


def embedding_activation_backward(embedding, token, d_embedded):
    d_embedding = np.zeros_like(embedding)
    x = embedding[token - 1]
    d_embedding[token - 1] = d_embedded * (2 * x + 1) / (x * x + x + 1) ** 2
    return d_embedding
