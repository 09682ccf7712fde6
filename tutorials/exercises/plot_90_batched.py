"""
Beyond a section: A padded batch
================================

The mean loss over the scored positions of a padded batch, and its gradients.  The question is stated on :doc:`/exercises_beyond`; work it out on paper first,
then write ``batched_loss_and_grads`` in the blank cell and run the grading cell.

Hint: Vectorise over the batch, loop over time.  Multiply dz by mask / N before
anything else: a masked position then sends no gradient anywhere.  The input
rows of dE: a token may repeat, in one document or at one position of two;
dE[tokens] += rows keeps one row per index, np.add.at(dE, tokens, rows) adds
every one.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``batched_loss_and_grads`` with the arguments below.  It is the same function, docstring and
# all, that ``normrnn exercise start`` writes to a file of its own.


def batched_loss_and_grads(embedding, ih, hh, bias, tokens, mask):
    """The mean loss over the scored positions of a padded batch, and its gradients.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        E (V, H), W_ih (H, H), W_hh (H, H), b (H,).
    tokens : ndarray of int, shape (B, T)
        B documents, each padded to the longest (T) with token 0.
    mask : ndarray of bool, shape (B, T)
        True where a position is scored: False on a title and on padding.
        A document may have length 0 (no True, all padding).

    The forward, for every document b at once (states of shape (B, T, H)):
    s_{b,0} = 0, s_{b,t+1} = f(S s_{b,t} + W_ih f(E[x_{b,t}]) + b), and
    L = (1/N) sum over (b, t) with mask[b, t] of -log softmax(E s_{b,t})[x_{b,t}],
    N = mask.sum().

    Returns
    -------
    loss : float
    grads : dict
        "embedding", "ih", "hh", "bias": d L / d each, shaped like it.
    """
    raise NotImplementedError("batched_loss_and_grads: your answer goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases that differ in
# structure, checks that it leaves its inputs alone, measures each output
# against answers computed in the grading process, and names the mistake
# when your answer matches a known wrong one, or says what it measured.
# Stuck?  ``normrnn exercise solution batched`` prints a right answer.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("batched", batched_loss_and_grads)
print(result.report())
plot_grade(result)
plt.show()
