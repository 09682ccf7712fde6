"""
Exercise 3: Bias
================

The bias's gradient of one step, a_t = S s_t + W_ih u_t + b.  The derivation is on :doc:`/sections/bias`; try it on
paper first, then write ``bias_backward`` in the blank cell and run the grading cell.

Hint: How does a_t change when b_i moves by a little?
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``bias_backward`` exactly as the reference twin :func:`normrnn.reference.bias_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def bias_backward(delta):
    """The bias's gradient of one step, a_t = S s_t + W_ih u_t + b.

    Parameters
    ----------
    delta : ndarray, shape (H,)
        d loss / d a_t.

    Returns
    -------
    d_bias : ndarray, shape (H,)
        d loss / d b from this step (a new array).
    """
    raise NotImplementedError("bias_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution bias`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("bias", bias_backward)
print(result.report())
plot_grade(result)
plt.show()
