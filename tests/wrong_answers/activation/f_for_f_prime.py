"""delta = g * f(a): the activation itself where its derivative is due.

diagnosis: f(a) where f'(a) is due
"""



def activation_backward(d_state, middle):
    return d_state * (1.0 - 1.0 / (middle * middle + middle + 1.0))
