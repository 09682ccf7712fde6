"""The Cython track: write each section's typed kernel, graded for correctness, speed and purity.

``normrnn exercise start --cython DIR`` writes a ``.pyx`` skeleton per
section (:mod:`.templates`), the package's own kernel with its body taken
out, and the thread-safe reduction (:mod:`.race`); ``normrnn exercise check
DIR`` compiles each (:mod:`.build`, cached by content) and grades it
(:mod:`.grade`): the Python track's cases and rules for correctness, ratios
against the NumPy twin and normrnn's kernel for speed (:mod:`.speed`), and
the Python lines left in the kernel for purity (:mod:`.purity`).  The
per-section data is one table, :data:`.table.CYTHON`.
"""

from .table import CYTHON

__all__ = ["CYTHON"]
