"""delta = f'(a): the incoming gradient g is never multiplied in.

diagnosis: the incoming gradient g is left out
"""



def activation_backward(d_state, middle):
    q = middle * middle + middle + 1.0
    return (2.0 * middle + 1.0) / (q * q)
