"""du * f'(E) on every row, where only row x was read.

diagnosis: every row of dE is filled
"""



def embedding_activation_backward(embedding, token, d_embedded):
    return d_embedded * (2 * embedding + 1) / (embedding**2 + embedding + 1) ** 2
