"""
Proof: The complex-step derivative
==================================

f'(x) at every entry of middle, by the complex step, to about 1e-15 relative.  The question is stated on :doc:`/exercises_beyond`; work it out on paper first,
then write ``complex_step`` in the blank cell and run the grading cell.

Hint: For f analytic and h real, f(x + ih) = f(x) + ih f'(x) - h^2 f''(x)/2 -
ih^3 f'''(x)/6 + ...  Which part holds f'?  Nothing is subtracted, so how small
may h be?
"""

import matplotlib.pyplot as plt
import numpy as np

from normrnn.exercises import grade
from normrnn.exercises.plot import plot_grade

# %%
# The blank cell
# --------------
# Replace the ``raise`` with your code.  Keep the signature: the grader calls
# ``complex_step`` with the arguments below.  It is the same function, docstring and
# all, that ``normrnn exercise start`` writes to a file of its own.


def complex_step(middle):
    """f'(x) at every entry of middle, by the complex step, to about 1e-15 relative.

    Parameters
    ----------
    middle : ndarray, shape (n,)
        The points x (float64).

    Returns
    -------
    slope : ndarray, shape (n,)
        f'(x) at each point, f(x) = 1 - 1/(x^2 + x + 1), accurate to about
        1e-15 relative to f'(x) itself, also where f'(x) is tiny.
    """
    raise NotImplementedError("complex_step: your answer goes here")


# %%
# The grading cell
# ----------------
# ``grade`` calls your function on several seeded cases that differ in
# structure, checks that it leaves its inputs alone, measures each output
# against answers computed in the grading process, and names the mistake
# when your answer matches a known wrong one, or says what it measured.
# Stuck?  ``normrnn exercise solution complex_step`` prints a right answer.

# The same grading cell ends every exercise page, so each downloaded notebook runs on its own.
result = grade("complex_step", complex_step)
print(result.report())
plot_grade(result)
plt.show()
