"""The bound 1/H, with a right S.

diagnosis: the smallest
"""

import numpy as np


def spectral_bound(H):
    return 1 / H, np.ones((H, H)) / H ** 1.5
