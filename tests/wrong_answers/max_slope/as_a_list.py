"""The points as a list, not an array.

message: must be a numpy array
"""


def max_slope():
    return 1.0, [-1.0, 0.0]
