"""Graded exercises: derive a gradient, write it, be told whether and how it is wrong.

One exercise per section of the backward pass, one for the whole document,
and six beyond a single section: a padded batch with a mask
(:mod:`.batched`) and five proofs checked numerically (:mod:`.proofs`)::

    from normrnn.exercises import grade

    def hh_backward(scaled_hh, state, delta):
        ...                                   # your derivation

    print(grade("hh", hh_backward).report())

:func:`grade` calls the function on several cases that differ in structure
(:mod:`.cases`), each in float64 and float32, compares each output with
central finite differences and with :mod:`normrnn.reference`, checks that the
inputs are left alone and the outputs are new arrays, and names the mistake
when the answer matches a known wrong one, computed on the same inputs.
``normrnn exercise start DIR`` writes a skeleton per exercise; ``normrnn
exercise check DIR`` grades them, each in a child process that cannot reach
the verdict (:mod:`.isolated`); :func:`normrnn.exercises.pytest_api.assert_gradient` grades
them in pytest the same way.
"""

from .cases import EXERCISES, OUTPUTS
from .grading import DERIVED, Errors, Grade, grade

__all__ = ["EXERCISES", "OUTPUTS", "DERIVED", "Errors", "Grade", "grade"]
