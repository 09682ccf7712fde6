"""Central differences of the learner's own forward f, not a derivation."""



def f(x):
    return 1.0 - 1.0 / (x * x + x + 1.0)


def activation_backward(d_state, middle):
    eps = 1e-5
    slope = (f(middle + eps) - f(middle - eps)) / (2 * eps)
    return d_state * slope
