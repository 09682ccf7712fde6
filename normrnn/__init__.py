"""normrnn: backpropagation through time by hand, fast and verifiably.

A small recurrent language model (tied embedding, a rational activation, a
row-normalised hidden-to-hidden matrix) whose backward pass is written out
section by section: as typed Cython kernels (:mod:`normrnn.sections`), as plain
NumPy to read beside them (:mod:`normrnn.reference`), and as the author's notes
had it (:mod:`normrnn.notes`), with finite-difference checks of all three
(:mod:`normrnn.gradcheck`).
"""

from . import _kernels  # noqa: F401  (light: in an unbuilt source tree, says what to do)

__version__ = "0.1.0"
__all__ = ["NormRNN", "Grads", "PARAMETER_NAMES", "LEARNED_GAIN_PARAMETER_NAMES", "GAINS",
           "kernel_choices", "__version__"]

_FROM_MODEL = ("NormRNN", "Grads", "PARAMETER_NAMES", "LEARNED_GAIN_PARAMETER_NAMES", "GAINS")


def __getattr__(name):
    # the model (and NumPy, and the kernels) load on first use, so that the
    # ``normrnn`` command starts inside its Ctrl-C handler (normrnn._console)
    if name in _FROM_MODEL:
        from . import model
        return getattr(model, name)
    if name == "kernel_choices":              # what normrnn.kernel_choice chose, and from what
        from .kernel_choice import kernel_choices
        return kernel_choices
    raise AttributeError(f"module 'normrnn' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_FROM_MODEL, "kernel_choices"])
