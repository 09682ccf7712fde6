"""Prove that the kernels in place are the bounds-checked debug build.

An out-of-range token passed straight to an unchecked kernel must raise
IndexError inside it (reported as unraisable, since the kernel is noexcept).
"""
import sys

import numpy as np

from normrnn._kernels import section_kernels

caught = []
sys.unraisablehook = lambda unraisable: caught.append(unraisable.exc_type)
section_kernels.logits_backward(np.ones((3, 2)), np.ones(2), 5, np.zeros(3), np.zeros((3, 2)),
                                np.zeros(2))
if caught != [IndexError]:
    sys.exit(f"the debug build did not check bounds (caught {caught})")
print("debug build: bounds checking is on")
