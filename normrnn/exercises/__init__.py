"""Graded exercises: derive a gradient, write it, be told whether and how it is wrong.

One exercise per section of the backward pass, and one for the whole
document::

    from normrnn.exercises import grade

    def hh_backward(scaled_hh, state, delta):
        ...                                   # your derivation

    print(grade("hh", hh_backward).report())

:func:`grade` compares each output with central finite differences and with
:mod:`normrnn.reference`, and names the mistake when the answer matches a
known wrong one, computed on the same inputs.  ``normrnn exercise start DIR``
writes a skeleton per exercise; ``normrnn exercise check DIR`` grades them;
:func:`normrnn.testing.assert_gradient` grades them in pytest.
"""

from .cases import EXERCISES, OUTPUTS
from .grading import Errors, Grade, grade

__all__ = ["EXERCISES", "OUTPUTS", "Errors", "Grade", "grade"]
