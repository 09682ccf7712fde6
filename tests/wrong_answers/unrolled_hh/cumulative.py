"""terms[d - 1] holds every distance up to d.

diagnosis: cumulative
"""

import numpy as np


def unrolled_hh(scaled_hh, states, middles, state_grads):
    T, H = states.shape
    slope = (2 * middles + 1) / (middles**2 + middles + 1) ** 2
    terms = np.zeros((max(T - 1, 0), H, H), dtype=states.dtype)
    for k in range(1, T):
        v = slope[k - 1] * state_grads[k]
        for t in range(k - 1, -1, -1):
            terms[k - 1 - t] += np.outer(v, states[t])
            if t > 0:
                v = slope[t - 1] * (scaled_hh.T @ v)
    return np.cumsum(terms, axis=0)
