"""dS divided by H: the 1/H of the row normalisation applied here too.

diagnosis: d_scaled_hh: scaled by 1/H
"""

import numpy as np


def hh_backward(scaled_hh, state, delta):
    H = len(state)
    return np.outer(delta, state) / H, scaled_hh.T @ delta
