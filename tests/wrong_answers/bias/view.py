"""delta[:]: a view of the input, sharing its memory."""


def bias_backward(delta):
    return delta[:]
