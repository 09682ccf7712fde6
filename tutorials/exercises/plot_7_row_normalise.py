"""
Exercise 7: Row normalisation
=============================

W_hh's gradient through S[i] = hh[i] / (H ||hh[i]||).  The derivation is on :doc:`/sections/row_normalise`; try it on
paper first, then write ``row_normalise_backward`` in the blank cell and run the grading cell.

Hint: Row i of S depends on row i of W_hh alone, and only on its direction: what
must the gradient of a row be orthogonal to?
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``row_normalise_backward`` exactly as the reference twin :func:`normrnn.reference.row_normalise_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def row_normalise_backward(hh, d_scaled_hh):
    """W_hh's gradient through S[i] = hh[i] / (H ||hh[i]||).

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        W_hh, every row nonzero.
    d_scaled_hh : ndarray, shape (H, H)
        d loss / d S, summed over all steps.

    Returns
    -------
    d_hh : ndarray, shape (H, H)
        d loss / d W_hh.
    """
    raise NotImplementedError("row_normalise_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution row_normalise`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("row_normalise", row_normalise_backward)
print(result.report())
plot_grade(result)
plt.show()
