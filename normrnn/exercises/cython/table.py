"""The Cython track's data, one record per section, keyed by the section's name.

Each record says which of the package's kernels the exercise is, how the
grader calls its ``def`` wrapper, and what it is timed on.  Everything else
(the cases, the right answers, the hint and the docs page) is the Python
track's, looked up by the same name.
"""

from dataclasses import dataclass

__all__ = ["CythonExercise", "CYTHON", "SPEED_H"]

#: The hidden size the speed is measured at: large enough that a kernel's
#: loops, not the cost of a call from Python, decide its time.
SPEED_H = 128


@dataclass(frozen=True)
class CythonExercise:
    """How one section is a Cython exercise.

    Attributes
    ----------
    kernel : str
        The ``cdef ... noexcept nogil`` kernel the learner writes (the
        package's name for it).
    wrapper : str
        The ``def`` wrapper the grader calls: the inputs, then the outputs.
    source : str
        The package's file (in ``normrnn/_kernels``) both come from.
    outputs : tuple of (str, str, str or None)
        The wrapper's arrays after the inputs, in order: (argument, ``"INOUT"``
        or ``"OUT"``, the graded output it holds or None for a workspace).
    extra_inputs : tuple of str
        Inputs the wrapper takes beyond the Python track's (made by the grader).
    returns : str or None
        The graded output the wrapper returns (``"loss"``), if any.
    given : tuple of str
        Helpers the skeleton writes out for the learner (the activation).
    cimports_allowed : bool
        Whether the learner may ``cimport`` the package's section kernels (the
        whole document composes them).
    """

    kernel: str
    wrapper: str
    source: str
    outputs: tuple
    extra_inputs: tuple = ()
    returns: str = None
    given: tuple = ("f", "f_grad")
    cimports_allowed: bool = False


def _section(name, *outputs, **more):
    return CythonExercise(f"_{name}_backward", f"{name}_backward", "section_kernels.pyx",
                          tuple(outputs), **more)


#: Section name -> its Cython exercise; the whole document last.
CYTHON = {
    "logits": _section("logits", ("d_logits", "OUT", None), ("d_embedding", "INOUT", "d_embedding"),
                       ("d_state", "INOUT", "d_state"), returns="loss"),
    "activation": _section("activation", ("delta", "INOUT", "delta"), given=("f",)),
    "bias": _section("bias", ("d_bias", "INOUT", "d_bias")),
    "ih": _section("ih", ("d_ih", "INOUT", "d_ih"), ("d_embedded", "INOUT", "d_embedded")),
    "embedding_activation": _section("embedding_activation",
                                     ("d_embedding", "INOUT", "d_embedding")),
    "hh": _section("hh", ("d_scaled_hh", "INOUT", "d_scaled_hh"), ("d_state", "INOUT", "d_state")),
    "row_normalise": _section("row_normalise", ("d_hh", "INOUT", "d_hh")),
    "gain": _section("gain", ("d_hh", "INOUT", "d_hh"), ("d_gain", "INOUT", "d_gain")),
    "loss_and_grads": CythonExercise(
        "_document_by_section", "document_loss_and_grads_by_section", "bptt_by_section.pyx",
        (("d_embedding", "INOUT", "embedding"), ("d_ih", "INOUT", "ih"),
         ("d_hh", "INOUT", "hh"), ("d_bias", "INOUT", "bias"), ("states", "OUT", None)),
        extra_inputs=("initial_state",), returns="loss", given=(), cimports_allowed=True),
}
