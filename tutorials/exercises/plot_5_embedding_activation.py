"""
Exercise 5: Embedding activation
================================

The embedding's gradient through u_t = f(E[x_t]).  The derivation is on :doc:`/sections/embedding_activation`; try it on
paper first, then write ``embedding_activation_backward`` in the blank cell and run the grading cell.

Hint: Only one row of E is read.  What is the gradient of the rows that are not?
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``embedding_activation_backward`` exactly as the reference twin :func:`normrnn.reference.embedding_activation_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def embedding_activation_backward(embedding, token, d_embedded):
    """The embedding's gradient through u_t = f(E[x_t]).

    Parameters
    ----------
    embedding : ndarray, shape (V, H)
        E.
    token : int
        x_t, in [0, V).
    d_embedded : ndarray, shape (H,)
        d loss / d u_t.

    Returns
    -------
    d_embedding : ndarray, shape (V, H)
        d loss / d E from this step.
    """
    raise NotImplementedError("embedding_activation_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution embedding_activation`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("embedding_activation", embedding_activation_backward)
print(result.report())
plot_grade(result)
plt.show()
