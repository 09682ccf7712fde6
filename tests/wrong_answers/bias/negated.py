"""-delta: the sign of a = ... + b read as a = ... - b.

diagnosis: sign flipped
"""


def bias_backward(delta):
    return -delta
