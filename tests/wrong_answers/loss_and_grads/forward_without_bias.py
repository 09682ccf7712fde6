"""The bias left out of the forward (the backward still sums delta for it)."""

import numpy as np


def f(x):
    return 1 - 1 / (x * x + x + 1)


def f_prime(x):
    return (2 * x + 1) / (x * x + x + 1) ** 2


def loss_and_grads(embedding, ih, hh, bias, tokens, title_length):
    V, H = embedding.shape
    T = len(tokens)
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    S = hh / (H * norms)
    states = [np.zeros(H, dtype=embedding.dtype)]
    middles = []
    for t in range(T - 1):
        a = S @ states[t] + ih @ f(embedding[tokens[t]])
        middles.append(a)
        states.append(f(a))
    loss = 0.0
    dE = np.zeros_like(embedding)
    dW = np.zeros_like(ih)
    dS = np.zeros_like(hh)
    db = np.zeros_like(bias)
    g = np.zeros(H, dtype=embedding.dtype)
    for t in range(T - 1, -1, -1):
        if t >= title_length:
            z = embedding @ states[t]
            p = np.exp(z - z.max())
            p /= p.sum()
            loss -= np.log(p[tokens[t]])
            p[tokens[t]] -= 1
            dE += np.outer(p, states[t])
            g = g + embedding.T @ p
        if t == 0:
            break
        delta = g * f_prime(middles[t - 1])
        db += delta
        dW += np.outer(delta, f(embedding[tokens[t - 1]]))
        dE[tokens[t - 1]] += (ih.T @ delta) * f_prime(embedding[tokens[t - 1]])
        dS += np.outer(delta, states[t - 1])
        g = S.T @ delta
    w = hh / norms
    d_hh = (dS - np.sum(dS * w, axis=1, keepdims=True) * w) / (H * norms)
    return float(loss), {"embedding": dE, "ih": dW, "hh": d_hh, "bias": db}
