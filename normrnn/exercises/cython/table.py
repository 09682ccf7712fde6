"""The Cython track's exercises, keyed by name: each section's, then the whole document's.

A section's exercise is a field of its record (``cython``, a
:class:`~normrnn.section_registry.CythonKernel` in
:mod:`normrnn.section_registry`), the whole document's a field of its own
record (:mod:`normrnn.exercises.whole`): which of
the package's kernels the exercise is, how the grader calls its ``def``
wrapper, and what each of the wrapper's outputs holds.  Everything else (the
cases, the right answers, the hint and the docs page) is the Python track's,
looked up by the same name.
"""

from ...section_registry import SECTIONS, CythonKernel
from ..cases import BEYOND

__all__ = ["CythonExercise", "CYTHON", "SPEED_H"]

#: The hidden size the speed is measured at: large enough that a kernel's
#: loops, not the cost of a call from Python, decide its time.
SPEED_H = 128

#: One exercise of the track (the registry's record of it).
CythonExercise = CythonKernel

#: Exercise name -> its Cython exercise: the sections in the registry's order, then
#: the exercises beyond a section that have one (the whole document).
CYTHON = {**{s.name: s.cython for s in SECTIONS},
          **{name: e.cython for name, e in BEYOND.items() if e.cython is not None}}
