"""The row token % H: the learner thinks E has H rows."""

import numpy as np


def embedding_activation_backward(embedding, token, d_embedded):
    H = embedding.shape[1]
    row = token % H
    x = embedding[row]
    d_embedding = np.zeros_like(embedding)
    d_embedding[row] = d_embedded * (2 * x + 1) / (x * x + x + 1) ** 2
    return d_embedding
