"""d_state = delta * rowsum(S), as the notes' second erratum has it.

diagnosis: erratum 2
"""

import numpy as np


def hh_backward(scaled_hh, state, delta):
    return np.outer(delta, state), delta * scaled_hh.sum(axis=1)
