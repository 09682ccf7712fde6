"""return delta: the input itself, where a new array is promised."""


def bias_backward(delta):
    return delta
