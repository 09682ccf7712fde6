"""S = ones / H: rank one, but its rows have length 1/sqrt(H), not 1/H.

diagnosis: S is not reachable
"""

import numpy as np


def spectral_bound(H):
    return 1 / np.sqrt(H), np.ones((H, H)) / H
