"""f'(a) with 2a - 1 in the numerator: a sign slip in the chain rule."""



def activation_backward(d_state, middle):
    q = middle * middle + middle + 1.0
    return d_state * (2.0 * middle - 1.0) / (q * q)
