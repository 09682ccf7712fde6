"""Normalises hh in place (hh /= norms) to get the directions."""

import numpy as np


def row_normalise_backward(hh, d_scaled_hh):
    H = hh.shape[1]
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    hh /= norms
    radial = np.sum(d_scaled_hh * hh, axis=1, keepdims=True)
    return (d_scaled_hh - radial * hh) / (H * norms)
