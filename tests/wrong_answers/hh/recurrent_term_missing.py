"""d_state = 0: the recurrent term forgotten (the state's gradient "comes from the logits")."""

import numpy as np


def hh_backward(scaled_hh, state, delta):
    return np.outer(delta, state), np.zeros_like(state)
