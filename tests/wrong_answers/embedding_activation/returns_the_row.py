"""Returns row x alone, shape (H,), not the (V, H) gradient of E.

message: expected (
"""



def embedding_activation_backward(embedding, token, d_embedded):
    x = embedding[token]
    return d_embedded * (2 * x + 1) / (x * x + x + 1) ** 2
