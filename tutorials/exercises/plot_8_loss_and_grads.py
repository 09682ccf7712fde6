"""
Exercise 8: Backpropagation through time
========================================

The whole document: the loss and every parameter's gradient, by BPTT.  The derivation is on :doc:`/bptt`; try it on
paper first, then write ``loss_and_grads`` in the blank cell and run the grading cell.

Hint: Keep every state and pre-activation of the forward.  Walk back from t = T-1
to 1, carrying g_t = d L / d s_t: the logits at t add to it, the step from
s_{t-1} passes it on.  Sum d S over all steps and put it through the row
normalisation once, at the end.  Your section functions can be imported and
reused.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``loss_and_grads`` exactly as the reference twin :func:`normrnn.reference.loss_and_grads` is
# called.  It is the same function, docstring and all, that
# ``normrnn exercise start`` writes to a file of its own.


def loss_and_grads(embedding, ih, hh, bias, tokens, title_length):
    """The whole document: the loss and every parameter's gradient, by BPTT.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        E (V, H), W_ih (H, H), W_hh (H, H), b (H,).
    tokens : list of int
        x_0 .. x_{T-1}.
    title_length : int
        m: positions t < m are not scored.

    The forward: s_0 = 0, s_{t+1} = f(S s_t + W_ih f(E[x_t]) + b), and
    L = sum over t >= m of -log softmax(E s_t)[x_t].

    Returns
    -------
    loss : float
    grads : dict
        "embedding", "ih", "hh", "bias": d L / d each, shaped like it.
    """
    raise NotImplementedError("loss_and_grads: your derivation goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases (a small and a large
# size or more, in float64 and float32), checks that it leaves its inputs
# alone, compares each output with central finite differences of the forward
# pass and with the reference, and names the mistake
# when your answer matches a known wrong one computed on the same
# inputs.  Stuck?  ``normrnn exercise solution loss_and_grads`` prints the reference.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("loss_and_grads", loss_and_grads)
print(result.report())
plot_grade(result)
plt.show()
