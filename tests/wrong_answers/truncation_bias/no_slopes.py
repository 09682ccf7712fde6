"""f'(a) left out of the Jacobians.

diagnosis: f'(a) is left out
"""

import numpy as np


def truncation_bias(scaled_hh, middles, state_grads, steps):
    T, H = state_grads.shape
    slope = np.ones_like(middles)
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
