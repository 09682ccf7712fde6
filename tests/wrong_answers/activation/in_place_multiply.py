"""d_state *= f'(a); return d_state: changes its input and returns it."""



def activation_backward(d_state, middle):
    q = middle * middle + middle + 1.0
    d_state *= (2.0 * middle + 1.0) / (q * q)
    return d_state
