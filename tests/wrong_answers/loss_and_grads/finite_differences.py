"""The whole BPTT as central differences of the learner's own forward pass."""

import numpy as np


def f(x):
    return 1 - 1 / (x * x + x + 1)


def document_loss(embedding, ih, hh, bias, tokens, title_length):
    H = embedding.shape[1]
    S = hh / (H * np.linalg.norm(hh, axis=1, keepdims=True))
    state = np.zeros(H)
    loss = 0.0
    for t, token in enumerate(tokens):
        if t >= title_length:
            z = embedding @ state
            loss += np.log(np.sum(np.exp(z - z.max()))) + z.max() - z[token]
        state = f(S @ state + ih @ f(embedding[token]) + bias)
    return loss


def loss_and_grads(embedding, ih, hh, bias, tokens, title_length):
    params = {"embedding": embedding, "ih": ih, "hh": hh, "bias": bias}
    grads = {}
    for name, p in params.items():
        grad = np.zeros_like(p)
        for k in np.ndindex(p.shape):
            eps = 1e-5 * (np.linalg.norm(hh[k[0]]) if name == "hh" else 1.0)
            old = p[k]
            p[k] = old + eps
            plus = document_loss(embedding, ih, hh, bias, tokens, title_length)
            p[k] = old - eps
            minus = document_loss(embedding, ih, hh, bias, tokens, title_length)
            p[k] = old
            grad[k] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return float(document_loss(embedding, ih, hh, bias, tokens, title_length)), grads
