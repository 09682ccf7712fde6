"""delta / H: the bias gradient averaged over the hidden units.

diagnosis: scaled by 1/H
"""


def bias_backward(delta):
    return delta / len(delta)
