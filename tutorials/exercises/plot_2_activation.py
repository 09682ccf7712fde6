"""
Exercise 2: Activation
======================

The gradient through s_{t+1} = f(a_t), f(x) = 1 - 1 / (x^2 + x + 1).  The derivation is on :doc:`/sections/activation`; try it on
paper first, then write ``activation_backward`` in the blank cell and run the grading cell.

Hint: f acts entry by entry, so its Jacobian is diagonal.  Write f'(x) with ** for
powers: ^ is XOR in Python.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``activation_backward`` exactly as the reference twin :func:`normrnn.reference.activation_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def activation_backward(d_state, middle):
    """The gradient through s_{t+1} = f(a_t), f(x) = 1 - 1 / (x^2 + x + 1).

    Parameters
    ----------
    d_state : ndarray, shape (H,)
        g_{t+1}, d loss / d s_{t+1}.
    middle : ndarray, shape (H,)
        a_t, the pre-activation.

    Returns
    -------
    delta : ndarray, shape (H,)
        d loss / d a_t.
    """
    raise NotImplementedError("activation_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution activation`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("activation", activation_backward)
print(result.report())
plot_grade(result)
plt.show()
