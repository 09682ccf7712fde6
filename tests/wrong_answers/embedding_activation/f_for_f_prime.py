"""dE[x] = du * f(E[x]): the activation where its derivative is due.

diagnosis: f(E[x]) where f'(E[x]) is due
"""

import numpy as np


def embedding_activation_backward(embedding, token, d_embedded):
    d_embedding = np.zeros_like(embedding)
    x = embedding[token]
    d_embedding[token] = d_embedded * (1 - 1 / (x * x + x + 1))
    return d_embedding
