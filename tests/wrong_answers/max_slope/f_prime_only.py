"""The maximum of f' alone: x = 0, forgetting the x where f' = -1.

message: the maximum of f' only
"""

import numpy as np


def max_slope():
    return 1.0, np.array([0.0])
