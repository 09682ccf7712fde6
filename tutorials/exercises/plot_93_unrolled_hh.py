"""
Proof: The unrolled sum of the hh gradient
==========================================

dL/dS written as an explicit sum over steps, split by how far each term is carried.  The question is stated on :doc:`/exercises_beyond`; work it out on paper first,
then write ``unrolled_hh`` in the blank cell and run the grading cell.

Hint: Unroll g_{t+1} = e_{t+1} + S^T D_{t+1} g_{t+2} with delta_t = D_t
g_{t+1}, D_t = diag(f'(a_t)): delta_t is a sum over k > t of D_t (S^T D_{t+1})
... (S^T D_{k-1}) e_k.  dL/dS = sum over t of delta_t s_t^T.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``unrolled_hh`` with the arguments below.  It is the same function, docstring and
# all, that ``normrnn exercise start`` writes to a file of its own.


def unrolled_hh(scaled_hh, states, middles, state_grads):
    """dL/dS written as an explicit sum over steps, split by how far each term is carried.

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
        S.
    states : ndarray, shape (T, H)
        s_0 .. s_{T-1} of the forward.
    middles : ndarray, shape (T - 1, H)
        a_0 .. a_{T-2}: s_{t+1} = f(a_t), a_t = S s_t + W_ih u_t + b.
    state_grads : ndarray, shape (T, H)
        e_k = d loss_k / d s_k = E^T dz_k, the direct gradient of position k
        (zero on the title).

    Returns
    -------
    terms : ndarray, shape (T - 1, H, H)
        terms[d - 1]: the part of dL/dS made of the e_k carried back exactly
        d steps (k = t + d for the step t that reads s_t).  The sum over d is
        dL/dS, which the grader puts through the row normalisation and compares
        with the package's BPTT.
    """
    raise NotImplementedError("unrolled_hh: your answer goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases that differ in
# structure, checks that it leaves its inputs alone, measures each output
# against answers computed in the grading process, and names the mistake
# when your answer matches a known wrong one, or says what it measured.
# Stuck?  ``normrnn exercise solution unrolled_hh`` prints a right answer.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("unrolled_hh", unrolled_hh)
print(result.report())
plot_grade(result)
plt.show()
