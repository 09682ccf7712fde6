"""
Exercise 1: Logits
==================

The loss -log softmax(E s)[token] and its gradients.  The derivation is on :doc:`/sections/logits`; try it on
paper first, then write ``logits_backward`` in the blank cell and run the grading cell.

Hint: Differentiate -log softmax(z)[x] with respect to z first: the result has a
famously simple form.  Then z = E s is linear in E and in s.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``logits_backward`` exactly as the reference twin :func:`normrnn.reference.logits_backward` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def logits_backward(embedding, state, token):
    """The loss -log softmax(E s)[token] and its gradients.

    Parameters
    ----------
    embedding : ndarray, shape (V, H)
        E, the tied embedding.
    state : ndarray, shape (H,)
        s_t.
    token : int
        The target x_t, in [0, V).

    Returns
    -------
    loss : float
    d_embedding : ndarray, shape (V, H)
        d loss / d E (the logits' share only).
    d_state : ndarray, shape (H,)
        d loss / d s_t.
    """
    raise NotImplementedError("logits_backward: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution logits`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("logits", logits_backward)
print(result.report())
plot_grade(result)
plt.show()
