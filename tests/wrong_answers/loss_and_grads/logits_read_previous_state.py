"""The logits at position t read s_{t-1} (the zero state at t = 0), derived consistently.

diagnosis: read s_{t-1}
"""

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
    states = np.zeros((T, H), dtype=embedding.dtype)
    middles = np.zeros((T, H), dtype=embedding.dtype)
    for t in range(T - 1):
        middles[t] = S @ states[t] + ih @ f(embedding[tokens[t]]) + bias
        states[t + 1] = f(middles[t])
    # first every logit's gradient, by the state it reads
    loss = 0.0
    dE = np.zeros_like(embedding)
    d_states = np.zeros((T, H), dtype=embedding.dtype)
    for t in range(title_length, T):
        s = states[t - 1] if t > 0 else np.zeros(H, dtype=embedding.dtype)
        z = embedding @ s
        p = np.exp(z - z.max())
        p /= p.sum()
        loss -= np.log(p[tokens[t]])
        p[tokens[t]] -= 1
        dE += np.outer(p, s)
        if t > 0:
            d_states[t - 1] += embedding.T @ p
    # then the recurrence, backwards
    dW, dS, db = np.zeros_like(ih), np.zeros_like(hh), np.zeros_like(bias)
    g = np.zeros(H, dtype=embedding.dtype)
    for t in range(T - 1, 0, -1):
        g = g + d_states[t]
        delta = g * f_prime(middles[t - 1])
        db += delta
        dW += np.outer(delta, f(embedding[tokens[t - 1]]))
        dE[tokens[t - 1]] += (ih.T @ delta) * f_prime(embedding[tokens[t - 1]])
        dS += np.outer(delta, states[t - 1])
        g = S.T @ delta
    w = hh / norms
    d_hh = (dS - np.sum(dS * w, axis=1, keepdims=True) * w) / (H * norms)
    return float(loss), {"embedding": dE, "ih": dW, "hh": d_hh, "bias": db}
