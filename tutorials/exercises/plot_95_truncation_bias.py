"""
Proof: The bias of truncated BPTT
=================================

What truncating BPTT to d steps drops from each state gradient, and the bound on it.  The question is stated on :doc:`/exercises_beyond`; work it out on paper first,
then write ``truncation_bias`` in the blank cell and run the grading cell.

Hint: g_t = sum over tau >= t of J_t^T ... J_{tau-1}^T e_tau with J_k^T v = S^T
(f'(a_k) v). The dropped part is that of tau >= t + d.  Bound each term, then
sum a geometric series.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``truncation_bias`` with the arguments below.  It is the same function, docstring and
# all, that ``normrnn exercise start`` writes to a file of its own.


def truncation_bias(scaled_hh, middles, state_grads, steps):
    """What truncating BPTT to d steps drops from each state gradient, and the bound on it.

    Parameters
    ----------
    scaled_hh : ndarray, shape (H, H)
        S (the fixed gain).
    middles : ndarray, shape (T - 1, H)
        a_0 .. a_{T-2}.
    state_grads : ndarray, shape (T, H)
        e_tau = E^T dz_tau (zero on the title).
    steps : int
        d >= 1: truncation keeps the positions t .. t + d - 1.

    Returns
    -------
    dropped : ndarray, shape (T - d,)
        For t = 0 .. T - 1 - d, the norm of the part of g_t that comes from
        positions tau >= t + d.
    bound : float
        The bound on every entry of dropped from ||S||_2 <= 1/sqrt(H) and
        max|f'| = 1, in terms of H, d and max_tau ||e_tau||.
    """
    raise NotImplementedError("truncation_bias: your answer goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases that differ in
# structure, checks that it leaves its inputs alone, measures each output
# against answers computed in the grading process, and names the mistake
# when your answer matches a known wrong one, or says what it measured.
# Stuck?  ``normrnn exercise solution truncation_bias`` prints a right answer.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("truncation_bias", truncation_bias)
print(result.report())
plot_grade(result)
plt.show()
