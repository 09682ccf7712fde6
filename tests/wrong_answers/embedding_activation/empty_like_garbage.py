"""np.empty_like: every row but the token's holds whatever the memory held.

alone: its garbage depends on what ran before it in the grading process
"""

import numpy as np


def embedding_activation_backward(embedding, token, d_embedded):
    d_embedding = np.empty_like(embedding)
    x = embedding[token]
    d_embedding[token] = d_embedded * (2 * x + 1) / (x * x + x + 1) ** 2
    return d_embedding
