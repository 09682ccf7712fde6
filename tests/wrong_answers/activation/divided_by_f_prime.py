"""delta = g / f'(a): divided where multiplied is due.

diagnosis: g / f'(a) where g * f'(a) is due
"""



def activation_backward(d_state, middle):
    q = middle * middle + middle + 1.0
    return d_state / ((2.0 * middle + 1.0) / (q * q))
