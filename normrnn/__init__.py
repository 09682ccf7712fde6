"""normrnn: backpropagation through time by hand, fast and verifiably.

A small recurrent language model (tied embedding, a rational activation, a
row-normalised hidden-to-hidden matrix) whose backward pass is written out
section by section: as typed Cython kernels (:mod:`normrnn.sections`), as plain
NumPy to read beside them (:mod:`normrnn.reference`), and as the author's notes
had it (:mod:`normrnn.notes`), with finite-difference checks of all three
(:mod:`normrnn.gradcheck`).
"""

from .model import GAINS, LEARNED_GAIN_PARAMETER_NAMES, PARAMETER_NAMES, Grads, NormRNN

__version__ = "0.1.0"
__all__ = ["NormRNN", "Grads", "PARAMETER_NAMES", "LEARNED_GAIN_PARAMETER_NAMES", "GAINS",
           "__version__"]
