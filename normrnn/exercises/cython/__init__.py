"""The Cython track: write each section's typed kernel, graded for correctness, speed and purity.

``normrnn exercise start --cython DIR`` writes a ``.pyx`` skeleton per
section (:mod:`.templates`), the package's own kernel with its body taken
out, and the thread-safe reduction (:mod:`.race`); ``normrnn exercise check
DIR`` compiles each (:mod:`.build`, cached by content) and grades it
(:mod:`.grade`): the Python track's cases and rules for correctness, ratios
against the NumPy twin and normrnn's kernel for speed (:mod:`.speed`), and
the Python lines left in the kernel for purity (:mod:`.purity`).  A
section's exercise is a field of its record in
:mod:`normrnn.section_registry`; :data:`.table.CYTHON` gathers them, with the
whole document's.
"""

from .table import CYTHON

__all__ = ["CYTHON"]
