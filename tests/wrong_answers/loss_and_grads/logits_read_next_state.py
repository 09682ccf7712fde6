"""min-char-rnn's indexing: hs[t], the state after reading x_t, predicts x_t.

diagnosis: read s_{t+1}
"""

import numpy as np


def f(x):
    return 1 - 1 / (x * x + x + 1)


def f_prime(x):
    return (2 * x + 1) / (x * x + x + 1) ** 2


def loss_and_grads(embedding, ih, hh, bias, tokens, title_length):
    V, H = embedding.shape
    S = hh / (H * np.linalg.norm(hh, axis=1, keepdims=True))
    hs, xs, as_, ps = {-1: np.zeros(H, dtype=embedding.dtype)}, {}, {}, {}
    loss = 0.0
    for t in range(len(tokens)):
        xs[t] = f(embedding[tokens[t]])
        as_[t] = S @ hs[t - 1] + ih @ xs[t] + bias
        hs[t] = f(as_[t])
        if t >= title_length:
            z = embedding @ hs[t]
            ps[t] = np.exp(z - z.max()) / np.sum(np.exp(z - z.max()))
            loss += -np.log(ps[t][tokens[t]])
    dE, dW = np.zeros_like(embedding), np.zeros_like(ih)
    dS, db = np.zeros_like(hh), np.zeros_like(bias)
    dh_next = np.zeros_like(bias)
    for t in reversed(range(len(tokens))):
        dh = dh_next.copy()
        if t >= title_length:
            dz = ps[t].copy()
            dz[tokens[t]] -= 1
            dE += np.outer(dz, hs[t])
            dh += embedding.T @ dz
        delta = dh * f_prime(as_[t])
        db += delta
        dW += np.outer(delta, xs[t])
        dE[tokens[t]] += (ih.T @ delta) * f_prime(embedding[tokens[t]])
        dS += np.outer(delta, hs[t - 1])
        dh_next = S.T @ delta
    n = np.linalg.norm(hh, axis=1, keepdims=True)
    w = hh / n
    d_hh = (dS - np.sum(dS * w, axis=1, keepdims=True) * w) / (H * n)
    return float(loss), {"embedding": dE, "ih": dW, "hh": d_hh, "bias": db}
