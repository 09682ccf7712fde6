"""The state gradient is not carried back through S.

diagnosis: not carried back through time
"""

import numpy as np


def _f(x):
    return 1.0 - 1.0 / (x * x + x + 1.0)


def _f_prime(x):
    return (2 * x + 1) / (x * x + x + 1) ** 2


def batched_loss_and_grads(embedding, ih, hh, bias, tokens, mask):
    B, T = tokens.shape
    H = embedding.shape[1]
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    scaled_hh = hh / (H * norms)
    u = _f(embedding[tokens])
    states = np.zeros((B, T, H), dtype=embedding.dtype)
    middles = np.zeros((B, T, H), dtype=embedding.dtype)
    for t in range(T - 1):
        middles[:, t] = states[:, t] @ scaled_hh.T + u[:, t] @ ih.T + bias
        states[:, t + 1] = _f(middles[:, t])
    z = states @ embedding.T
    z = z - z.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    weight = mask / mask.sum()
    loss = -(np.take_along_axis(log_p, tokens[..., None], axis=-1)[..., 0] * weight).sum()
    dz = np.exp(log_p)
    dz[np.arange(B)[:, None], np.arange(T), tokens] -= 1.0
    dz *= weight[..., None]
    d_embedding = np.einsum("btv,bth->vh", dz, states)
    d_ih, d_scaled_hh, d_bias = np.zeros_like(ih), np.zeros_like(hh), np.zeros_like(bias)
    rows = np.zeros_like(u)
    g = dz[:, T - 1] @ embedding
    for t in range(T - 2, -1, -1):
        delta = g * _f_prime(middles[:, t])
        d_bias += delta.sum(axis=0)
        d_ih += delta.T @ u[:, t]
        d_scaled_hh += delta.T @ states[:, t]
        rows[:, t] = (delta @ ih) * _f_prime(embedding[tokens[:, t]])
        g = dz[:, t] @ embedding
    np.add.at(d_embedding, tokens, rows)
    w = hh / norms
    d_hh = (d_scaled_hh - (d_scaled_hh * w).sum(axis=1, keepdims=True) * w) / (H * norms)
    return float(loss), {"embedding": d_embedding, "ih": d_ih, "hh": d_hh, "bias": d_bias}
