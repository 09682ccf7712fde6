"""The Cython track's exercises, keyed by name: each section's, then the whole document's.

A section's exercise is a field of its record (``cython``, a
:class:`~normrnn.section_registry.CythonKernel` in
:mod:`normrnn.section_registry`), and the whole document's is below: which of
the package's kernels the exercise is, how the grader calls its ``def``
wrapper, and what each of the wrapper's outputs holds.  Everything else (the
cases, the right answers, the hint and the docs page) is the Python track's,
looked up by the same name.
"""

from ...section_registry import SECTIONS, CythonKernel

__all__ = ["CythonExercise", "CYTHON", "SPEED_H"]

#: The hidden size the speed is measured at: large enough that a kernel's
#: loops, not the cost of a call from Python, decide its time.
SPEED_H = 128

#: One exercise of the track (the registry's record of it).
CythonExercise = CythonKernel

#: The whole-document BPTT loop, composed of the section kernels: the last exercise.
_DOCUMENT = CythonKernel(
    "_document_by_section", "document_loss_and_grads_by_section", "bptt_by_section.pyx",
    (("d_embedding", "INOUT", "embedding"), ("d_ih", "INOUT", "ih"), ("d_hh", "INOUT", "hh"),
     ("d_bias", "INOUT", "bias"), ("states", "OUT", None)),
    extra_inputs=("initial_state",), returns="loss", given=(), cimports_allowed=True)

#: Exercise name -> its Cython exercise: the sections in the registry's order, the whole
#: document last.
CYTHON = {**{s.name: s.cython for s in SECTIONS}, "loss_and_grads": _DOCUMENT}
