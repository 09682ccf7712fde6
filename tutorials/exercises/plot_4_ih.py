"""
Exercise 4: Input to hidden
===========================

The gradients of the input's part of the step, W_ih u_t.  The derivation is on :doc:`/sections/ih`; try it on
paper first, then write ``ih_backward`` in the blank cell and run the grading cell.

Hint: Write a_i = sum_j (W_ih)_ij u_j and differentiate with respect to one (W_ih)_ij and
one u_j.  Check the shapes: which index is summed?
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``ih_backward`` exactly as the reference twin :func:`normrnn.reference.ih_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def ih_backward(ih, embedded, delta):
    """The gradients of the input's part of the step, W_ih u_t.

    Parameters
    ----------
    ih : ndarray, shape (H, H)
        W_ih.
    embedded : ndarray, shape (H,)
        u_t = f(E[x_t]).
    delta : ndarray, shape (H,)
        d loss / d a_t.

    Returns
    -------
    d_ih : ndarray, shape (H, H)
        d loss / d W_ih from this step.
    d_embedded : ndarray, shape (H,)
        d loss / d u_t.
    """
    raise NotImplementedError("ih_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution ih`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("ih", ih_backward)
print(result.report())
plot_grade(result)
plt.show()
