"""
Proof: The steepest slope of f
==============================

The maximum of abs(f') for f(x) = 1 - 1/(x^2 + x + 1), and every x where it is reached.  The question is stated on :doc:`/exercises_beyond`; work it out on paper first,
then write ``max_slope`` in the blank cell and run the grading cell.

Hint: Write f'(x) = (2x + 1)/q^2 with q = x^2 + x + 1, then f''(x) over a
common denominator.  abs(f') is largest where f' is largest or smallest: mind
both signs.
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``max_slope`` with the arguments below.  It is the same function, docstring and
# all, that ``normrnn exercise start`` writes to a file of its own.


def max_slope():
    """The maximum of abs(f') for f(x) = 1 - 1/(x^2 + x + 1), and every x where it is reached.

    Parameters
    ----------
    (none): the answer is two values, found on paper.

    Returns
    -------
    maximum : float
        max over x of abs(f'(x)).
    where : ndarray, shape (n,)
        Every x at which abs(f'(x)) equals the maximum (any order).
    """
    raise NotImplementedError("max_slope: your answer goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases that differ in
# structure, checks that it leaves its inputs alone, measures each output
# against answers computed in the grading process, and names the mistake
# when your answer matches a known wrong one, or says what it measured.
# Stuck?  ``normrnn exercise solution max_slope`` prints a right answer.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("max_slope", max_slope)
print(result.report())
plot_grade(result)
plt.show()
