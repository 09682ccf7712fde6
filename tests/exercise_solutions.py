"""Correct answers to every exercise, written independently of normrnn.reference.

Derived again from the maths, in a different style (index loops and einsum
rather than outer products), so that the grader is tested against answers it
did not produce itself.  Each function is self-contained: the walkthrough test
copies its source into a learner's file.
"""

import numpy as np

from normrnn.exercises import EXERCISES
from normrnn.exercises.grading import function_name


def logits_backward(embedding, state, token):
    z = np.einsum("vh,h->v", embedding, state)
    log_norm = z.max() + np.log(np.sum(np.exp(z - z.max())))
    p = np.exp(z - log_norm)
    dz = p - (np.arange(len(z)) == token)
    return float(log_norm - z[token]), np.einsum("v,h->vh", dz, state), np.einsum(
        "vh,v->h", embedding, dz)


def activation_backward(d_state, middle):
    out = np.empty_like(middle)
    for i, x in enumerate(middle):
        out[i] = d_state[i] * (2 * x + 1) / (x**2 + x + 1) ** 2
    return out


def bias_backward(delta):
    return np.array(delta, copy=True)


def ih_backward(ih, embedded, delta):
    H = len(delta)
    d_ih = np.empty_like(ih)
    d_embedded = np.zeros_like(embedded)
    for i in range(H):
        for j in range(H):
            d_ih[i, j] = delta[i] * embedded[j]
            d_embedded[j] += delta[i] * ih[i, j]
    return d_ih, d_embedded


def embedding_activation_backward(embedding, token, d_embedded):
    d_embedding = np.zeros_like(embedding)
    x = embedding[token]
    d_embedding[token] = d_embedded * (2 * x + 1) / (x**2 + x + 1) ** 2
    return d_embedding


def hh_backward(scaled_hh, state, delta):
    return delta[:, None] * state[None, :], np.einsum("ij,i->j", scaled_hh, delta)


def row_normalise_backward(hh, d_scaled_hh):
    H = hh.shape[1]
    d_hh = np.empty_like(hh)
    for i in range(hh.shape[0]):
        n = np.sqrt(np.sum(hh[i] ** 2))
        # S[i] = hh[i] / (H n): the Jacobian is (I - hh[i] hh[i]^T / n^2) / (H n)
        jacobian = (np.eye(H) - np.outer(hh[i], hh[i]) / n**2) / (H * n)
        d_hh[i] = jacobian.T @ d_scaled_hh[i]
    return d_hh


def gain_backward(hh, gain, d_scaled_hh):
    d_hh, d_gain = np.empty_like(hh), np.empty_like(gain)
    for i in range(hh.shape[0]):
        n = np.sqrt(np.sum(hh[i] ** 2))
        w = hh[i] / n
        # S[i] = g_i w: d/dg_i is w; d/dhh[i] is g_i (I - w w^T) / n
        d_gain[i] = d_scaled_hh[i] @ w
        d_hh[i] = (gain[i] / n) * (np.eye(len(w)) - np.outer(w, w)) @ d_scaled_hh[i]
    return d_hh, d_gain


def loss_and_grads(embedding, ih, hh, bias, tokens, title_length):
    V, H = embedding.shape
    T = len(tokens)
    norms = np.sqrt(np.sum(hh**2, axis=1))
    S = hh / (H * norms[:, None])
    f = lambda x: 1 - 1 / (x**2 + x + 1)                        # noqa: E731
    df = lambda x: (2 * x + 1) / (x**2 + x + 1) ** 2             # noqa: E731
    s = np.zeros((T, H), dtype=embedding.dtype)
    a = np.zeros((T, H), dtype=embedding.dtype)
    for t in range(T - 1):
        a[t] = np.einsum("ij,j->i", S, s[t]) + np.einsum(
            "ij,j->i", ih, f(embedding[tokens[t]])) + bias
        s[t + 1] = f(a[t])
    loss = 0.0
    dE, dW, dS, db = (np.zeros_like(embedding), np.zeros_like(ih), np.zeros_like(hh),
                      np.zeros_like(bias))
    g = np.zeros(H, dtype=embedding.dtype)
    for t in reversed(range(T)):
        if t >= title_length:
            z = embedding @ s[t]
            p = np.exp(z - z.max())
            p /= p.sum()
            loss += -np.log(p[tokens[t]])
            p[tokens[t]] -= 1
            dE += np.einsum("v,h->vh", p, s[t])
            g = g + np.einsum("vh,v->h", embedding, p)
        if t == 0:
            break
        d = g * df(a[t - 1])
        db += d
        e = embedding[tokens[t - 1]]
        dW += np.einsum("i,j->ij", d, f(e))
        dE[tokens[t - 1]] += np.einsum("ij,i->j", ih, d) * df(e)
        dS += np.einsum("i,j->ij", d, s[t - 1])
        g = np.einsum("ij,i->j", S, d)
    w = hh / norms[:, None]
    d_hh = (dS - np.sum(dS * w, axis=1, keepdims=True) * w) / (H * norms[:, None])
    return float(loss), {"embedding": dE, "ih": dW, "hh": d_hh, "bias": db}


def batched_loss_and_grads(embedding, ih, hh, bias, tokens, mask):
    # one document at a time, index loops: no fancy-index scatter to drop a repeated token
    V, H = embedding.shape
    B, T = tokens.shape
    N = int(mask.sum())
    norms = np.sqrt(np.sum(hh**2, axis=1))
    S = hh / (H * norms[:, None])
    f = lambda x: 1 - 1 / (x**2 + x + 1)                        # noqa: E731
    df = lambda x: (2 * x + 1) / (x**2 + x + 1) ** 2             # noqa: E731
    loss = 0.0
    dE, dW, dS, db = (np.zeros_like(embedding), np.zeros_like(ih), np.zeros_like(hh),
                      np.zeros_like(bias))
    for b in range(B):
        x = [int(v) for v in tokens[b]]
        s = np.zeros((T, H), dtype=embedding.dtype)
        a = np.zeros((T, H), dtype=embedding.dtype)
        for t in range(T - 1):
            a[t] = S @ s[t] + ih @ f(embedding[x[t]]) + bias
            s[t + 1] = f(a[t])
        g = np.zeros(H, dtype=embedding.dtype)
        for t in reversed(range(T)):
            if mask[b, t]:
                z = embedding @ s[t]
                p = np.exp(z - z.max())
                p /= p.sum()
                loss += -np.log(p[x[t]]) / N
                p[x[t]] -= 1
                p /= N
                dE += np.einsum("v,h->vh", p, s[t])
                g = g + embedding.T @ p
            if t == 0:
                break
            d = g * df(a[t - 1])
            db += d
            dW += np.einsum("i,j->ij", d, f(embedding[x[t - 1]]))
            row = (ih.T @ d) * df(embedding[x[t - 1]])
            for h in range(H):
                dE[x[t - 1], h] += row[h]
            dS += np.einsum("i,j->ij", d, s[t - 1])
            g = S.T @ d
    w = hh / norms[:, None]
    d_hh = (dS - np.sum(dS * w, axis=1, keepdims=True) * w) / (H * norms[:, None])
    return float(loss), {"embedding": dE, "ih": dW, "hh": d_hh, "bias": db}


def max_slope():
    # f''(x) = -6 x (x + 1) / (x^2 + x + 1)^3: zero at x = 0 (f' = 1) and x = -1 (f' = -1)
    return 1.0, np.array([0.0, -1.0])


def spectral_bound(H):
    # rank one, rows of length 1/H pointing along +-v: ||S||_2 = ||S||_F = 1/sqrt(H)
    v = np.arange(1.0, H + 1.0)
    signs = np.where(np.arange(H) % 2 == 1, -1.0, 1.0)
    return H**-0.5, np.outer(signs, v / np.sqrt(v @ v)) / H


def unrolled_hh(scaled_hh, states, middles, state_grads):
    T, H = states.shape
    slope = (2 * middles + 1) / (middles**2 + middles + 1) ** 2
    terms = np.zeros((max(T - 1, 0), H, H), dtype=states.dtype)
    for k in range(1, T):                 # e_k carried back to the steps t = k-1, k-2, ...
        v = slope[k - 1] * state_grads[k]
        for t in range(k - 1, -1, -1):
            terms[k - 1 - t] += np.outer(v, states[t])
            if t > 0:
                v = slope[t - 1] * (scaled_hh.T @ v)
    return terms


def complex_step(middle):
    h = 1e-30
    z = middle + 1j * h
    return np.imag(1 - 1 / (z * z + z + 1)) / h


def truncation_bias(scaled_hh, middles, state_grads, steps):
    T, H = state_grads.shape
    slope = (2 * middles + 1) / (middles**2 + middles + 1) ** 2
    g = state_grads.copy()
    for t in range(T - 2, -1, -1):
        g[t] = state_grads[t] + scaled_hh.T @ (slope[t] * g[t + 1])
    dropped = np.zeros(T - steps, dtype=state_grads.dtype)
    for t in range(T - steps):
        v = g[t + steps]
        for k in range(t + steps - 1, t - 1, -1):
            v = scaled_hh.T @ (slope[k] * v)
        dropped[t] = np.sqrt(v @ v)
    rho = 1 / np.sqrt(H)
    return dropped, rho**steps / (1 - rho) * np.linalg.norm(state_grads, axis=1).max()


#: Exercise name -> its correct function (named as the exercise's function).
SOLUTIONS = {name: globals()[function_name(name)] for name in EXERCISES}
