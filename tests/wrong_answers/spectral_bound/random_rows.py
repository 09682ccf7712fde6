"""Random rows, normalised: reachable, but rank H.

diagnosis: S has rank
"""

import numpy as np


def spectral_bound(H):
    hh = np.random.default_rng(0).normal(size=(H, H)) + np.eye(H)
    return 1 / np.sqrt(H), hh / (H * np.linalg.norm(hh, axis=1, keepdims=True))
