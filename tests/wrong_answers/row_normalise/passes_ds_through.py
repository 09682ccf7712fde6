"""Returns dS: the row normalisation treated as the identity.

diagnosis: the row-normalisation backward is left out
"""


def row_normalise_backward(hh, d_scaled_hh):
    return d_scaled_hh.copy()
