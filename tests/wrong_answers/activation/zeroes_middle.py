"""Zeroes the input middle after use, to "free" it."""



def activation_backward(d_state, middle):
    q = middle * middle + middle + 1.0
    delta = d_state * (2.0 * middle + 1.0) / (q * q)
    middle[:] = 0.0
    return delta
