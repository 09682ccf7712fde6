"""
Proof: The norm bound of S and the S that reaches it
====================================================

The bound on ||S||_2 for the fixed gain, as a function of H, and an S that reaches it.  The question is stated on :doc:`/exercises_beyond`; work it out on paper first,
then write ``spectral_bound`` in the blank cell and run the grading cell.

Hint: Compare ||S||_2 with ||S||_F, whose value the row lengths fix.  When is
||A||_2 = ||A||_F?  Think of the singular values.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``spectral_bound`` with the arguments below.  It is the same function, docstring and
# all, that ``normrnn exercise start`` writes to a file of its own.


def spectral_bound(H):
    """The bound on ||S||_2 for the fixed gain, as a function of H, and an S that reaches it.

    Parameters
    ----------
    H : int
        The hidden size (1 and more).

    Returns
    -------
    bound : float
        The smallest number c(H) with ||S||_2 <= c(H) for every row-normalised S.
    scaled_hh : ndarray, shape (H, H)
        A row-normalised S (every row of length exactly 1/H, as
        S[i] = W_hh[i] / (H ||W_hh[i]||) makes) with ||S||_2 equal to the bound.
    """
    raise NotImplementedError("spectral_bound: your answer goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases that differ in
# structure, checks that it leaves its inputs alone, measures each output
# against answers computed in the grading process, and names the mistake
# when your answer matches a known wrong one, or says what it measured.
# Stuck?  ``normrnn exercise solution spectral_bound`` prints a right answer.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("spectral_bound", spectral_bound)
print(result.report())
plot_grade(result)
plt.show()
