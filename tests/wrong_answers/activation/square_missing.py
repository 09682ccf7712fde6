"""f'(a) = (2a + 1) / (a^2 + a + 1): the square of the denominator forgotten.

diagnosis: without the square in its denominator
"""



def activation_backward(d_state, middle):
    return d_state * (2.0 * middle + 1.0) / (middle * middle + middle + 1.0)
