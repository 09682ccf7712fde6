"""
Exercise 9: The gain (optional)
===============================

The gradients through S[i] = gain[i] hh[i] / ||hh[i]||, a learned row length.  The derivation is on
:doc:`/sections/gain`; try it on paper first, then write ``gain_backward`` in the blank cell and
run the grading cell.

Hint: S[i] is gamma_i times a unit vector.  The gain takes the part of dS[i] along that vector; the
row normalisation's answer, with gamma_i for 1/H, takes the rest.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``gain_backward`` exactly as the reference twin :func:`normrnn.reference.gain_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def gain_backward(hh, gain, d_scaled_hh):
    """The gradients through S[i] = gain[i] hh[i] / ||hh[i]||, a learned row length.

    Parameters
    ----------
    hh : ndarray, shape (H, H)
        W_hh, every row nonzero.
    gain : ndarray, shape (H,)
        gamma, any finite values (zero and negative included).
    d_scaled_hh : ndarray, shape (H, H)
        d loss / d S, summed over all steps.

    Returns
    -------
    d_hh : ndarray, shape (H, H)
        d loss / d W_hh.
    d_gain : ndarray, shape (H,)
        d loss / d gamma.
    """
    raise NotImplementedError("gain_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known one computed on the same inputs.
# Stuck?  ``normrnn exercise solution gain`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("gain", gain_backward)
print(result.report())
plot_grade(result)
plt.show()
