"""
Exercise 6: Hidden to hidden
============================

The gradients of the recurrent part of the step, S s_t.  The derivation is on :doc:`/sections/hh`; try it on
paper first, then write ``hh_backward`` in the blank cell and run the grading cell.

Hint: The same linear map as the input's section.  Entry s_j feeds every a_i: sum
over i.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``hh_backward`` exactly as the reference twin :func:`normrnn.reference.hh_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def hh_backward(scaled_hh, state, delta):
    """The gradients of the recurrent part of the step, S s_t.

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
        S, the row-normalised W_hh.
    state : ndarray, shape (H,)
        s_t, the state the step read.
    delta : ndarray, shape (H,)
        d loss / d a_t.

    Returns
    -------
    d_scaled_hh : ndarray, shape (H, H)
        d loss / d S from this step.
    d_state : ndarray, shape (H,)
        d loss / d s_t through this step (the recurrent path).
    """
    raise NotImplementedError("hh_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution hh`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("hh", hh_backward)
print(result.report())
plot_grade(result)
plt.show()
