"""The sections of the backward pass, one record each: the one list of them.

A section is one step of the derivation (the docs' *Sections* pages): the
logits, the activation, the bias, W_ih, the embedding's activation, S, the
row normalisation and the optional learned gain.  Each has

* its NumPy twin, functions of :mod:`normrnn.reference` (``twins``), and the
  same names in :mod:`normrnn.sections` (the checked front door) and, for the
  backward, in ``normrnn/_kernels/section_kernels.pyx`` (the kernel);
* a backward ``<name>_backward(*inputs) -> outputs``, each output the
  gradient of the forward's input named in ``wrt`` (a loss is the
  gradient of nothing);
* random inputs (``draw``, a function of :mod:`normrnn.gradcheck`), on
  which the gradient check and the graded exercise both run;
* a graded exercise: its known mistakes (``mistakes``, a function of
  :mod:`normrnn.exercises.mistakes`, or None for the generic ones alone) and
  its skeleton (``normrnn exercise start`` and the docs' exercise notebooks);
* its docs page, ``docs/sections/<name>.rst``;
* its exercise of the Cython track (``cython``): the package's kernel the
  learner writes, its file, the ``def`` wrapper the grader calls and what
  each of the wrapper's outputs holds.

Everything that goes over the sections reads :data:`SECTIONS`: the
``__all__`` of :mod:`normrnn.reference` and :mod:`normrnn.sections`,
:data:`normrnn.gradcheck.SECTIONS`, the exercises and their notebooks, and
the Cython track's table (:data:`normrnn.exercises.cython.table.CYTHON`).
``tests/test_section_registry.py`` checks that every field names something
real and that nothing else lists the sections.  This module imports nothing
of normrnn, so every module can read it.
"""

from dataclasses import dataclass

__all__ = ["Skeleton", "CythonKernel", "Section", "SECTIONS", "NAMES", "section", "twin_names"]


@dataclass(frozen=True)
class Skeleton:
    """What the blank function of an exercise says: its page's title, the task, shapes, a hint.

    Attributes
    ----------
    title : str
        The title of its docs page (and of the exercise).
    what : str
        What to compute, one sentence: the docstring's first line.
    shapes : str
        The docstring's ``Parameters`` (after the heading) and ``Returns``.
    hint : str
        A hint for the derivation.
    """

    title: str
    what: str
    shapes: str
    hint: str


@dataclass(frozen=True)
class CythonKernel:
    """An exercise of the Cython track: one of the package's kernels, written by the learner.

    The skeleton is the kernel with its body taken out, the solution the kernel
    itself; the cases, right answers, hint and docs page are the Python
    track's, looked up by the exercise's name.

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


def _kernel(name, *outputs, **more):
    """A section's :class:`CythonKernel`: ``_<name>_backward`` in ``section_kernels.pyx``,
    called through ``<name>_backward``."""
    return CythonKernel(f"_{name}_backward", f"{name}_backward", "section_kernels.pyx",
                        tuple(outputs), **more)


@dataclass(frozen=True)
class Section:
    """One section of the backward pass: where each of its parts lives.

    Attributes
    ----------
    name : str
        ``logits``, ``hh``, ...: its page ``docs/sections/<name>.rst``, its
        backward ``<name>_backward``, its exercise.
    twins : tuple of str
        Its functions, each in :mod:`normrnn.reference` and in
        :mod:`normrnn.sections` under the same name, the backward last.
    inputs : tuple of str
        The backward's arguments, in order.
    outputs : tuple of str
        What the backward returns, in order.
    wrt : dict
        Output -> what it is the gradient of, an input of the section's
        forward (every output but a loss): what the checks perturb.
    draw : str
        The function of :mod:`normrnn.gradcheck` that draws its inputs, for
        the gradient check and the exercise alike (:func:`normrnn.gradcheck.draw_inputs`).
    mistakes : str or None
        The function of :mod:`normrnn.exercises.mistakes` that computes its
        known wrong answers; None when only the generic ones apply.
    skeleton : Skeleton
        The blank function of its exercise.
    cython : CythonKernel
        Its exercise of the Cython track.
    """

    name: str
    twins: tuple
    inputs: tuple
    outputs: tuple
    wrt: dict
    draw: str
    mistakes: object
    skeleton: Skeleton
    cython: CythonKernel

    @property
    def backward(self):
        """The backward's name, ``<name>_backward``: in reference, sections and the kernels."""
        return f"{self.name}_backward"

    @property
    def docs_page(self):
        """The docs page, ``sections/<name>`` (``docs/sections/<name>.rst``)."""
        return f"sections/{self.name}"


#: Every section, in the order of the docs (the optional gain last).
SECTIONS = (
    Section(
        name="logits",
        twins=("logits_forward", "logits_backward"),
        inputs=("embedding", "state", "token"),
        outputs=("loss", "d_embedding", "d_state"),
        wrt={"d_embedding": "embedding", "d_state": "state"},
        draw="_logits_inputs",
        mistakes="_logits",
        skeleton=Skeleton(
            title="Logits",
            what="The loss -log softmax(E s)[token] and its gradients.",
            shapes="""\
embedding : ndarray, shape (V, H)
    E, the tied embedding.
state : ndarray, shape (H,)
    s_t.
token : int
    The target x_t, in [0, V).

Returns
-------
loss : float
d_embedding : ndarray, shape (V, H)
    d loss / d E (the logits' share only).
d_state : ndarray, shape (H,)
    d loss / d s_t.""",
            hint=("Differentiate -log softmax(z)[x] with respect to z first: the result has a "
                  "famously simple form.  Then z = E s is linear in E and in s.")),
        cython=_kernel("logits", ("d_logits", "OUT", None),
                       ("d_embedding", "INOUT", "d_embedding"), ("d_state", "INOUT", "d_state"),
                       returns="loss"),
    ),
    Section(
        name="activation",
        twins=("activation", "activation_grad", "activation_backward"),
        inputs=("d_state", "middle"),
        outputs=("delta",),
        wrt={"delta": "middle"},
        draw="_activation_inputs",
        mistakes="_activation",
        skeleton=Skeleton(
            title="Activation",
            what="The gradient through s_{t+1} = f(a_t), f(x) = 1 - 1 / (x^2 + x + 1).",
            shapes="""\
d_state : ndarray, shape (H,)
    g_{t+1}, d loss / d s_{t+1}.
middle : ndarray, shape (H,)
    a_t, the pre-activation.

Returns
-------
delta : ndarray, shape (H,)
    d loss / d a_t.""",
            hint=("f acts entry by entry, so its Jacobian is diagonal.  Write f'(x) with ** for "
                  "powers: ^ is XOR in Python.")),
        cython=_kernel("activation", ("delta", "INOUT", "delta"), given=("f",)),
    ),
    Section(
        name="bias",
        twins=("bias_backward",),
        inputs=("delta",),
        outputs=("d_bias",),
        wrt={"d_bias": "bias"},
        draw="_bias_inputs",
        mistakes=None,
        skeleton=Skeleton(
            title="Bias",
            what="The bias's gradient of one step, a_t = S s_t + W_ih u_t + b.",
            shapes="""\
delta : ndarray, shape (H,)
    d loss / d a_t.

Returns
-------
d_bias : ndarray, shape (H,)
    d loss / d b from this step (a new array).""",
            hint="How does a_t change when b_i moves by a little?"),
        cython=_kernel("bias", ("d_bias", "INOUT", "d_bias")),
    ),
    # "ih" and "hh" are the same linear map (W_ih u_t and S s_t): they read alike on purpose.
    Section(
        name="ih",
        twins=("ih_forward", "ih_backward"),
        inputs=("ih", "embedded", "delta"),
        outputs=("d_ih", "d_embedded"),
        wrt={"d_ih": "ih", "d_embedded": "embedded"},
        draw="_ih_inputs",
        mistakes="_ih",
        skeleton=Skeleton(
            title="Input to hidden",
            what="The gradients of the input's part of the step, W_ih u_t.",
            shapes="""\
ih : ndarray, shape (H, H)
    W_ih.
embedded : ndarray, shape (H,)
    u_t = f(E[x_t]).
delta : ndarray, shape (H,)
    d loss / d a_t.

Returns
-------
d_ih : ndarray, shape (H, H)
    d loss / d W_ih from this step.
d_embedded : ndarray, shape (H,)
    d loss / d u_t.""",
            hint=("Write a_i = sum_j (W_ih)_ij u_j and differentiate with respect to one "
                  "(W_ih)_ij and one u_j.  Check the shapes: which index is summed?")),
        cython=_kernel("ih", ("d_ih", "INOUT", "d_ih"), ("d_embedded", "INOUT", "d_embedded")),
    ),
    Section(
        name="embedding_activation",
        twins=("embedding_activation_forward", "embedding_activation_backward"),
        inputs=("embedding", "token", "d_embedded"),
        outputs=("d_embedding",),
        wrt={"d_embedding": "embedding"},
        draw="_embedding_activation_inputs",
        mistakes="_embedding_activation",
        skeleton=Skeleton(
            title="Embedding activation",
            what="The embedding's gradient through u_t = f(E[x_t]).",
            shapes="""\
embedding : ndarray, shape (V, H)
    E.
token : int
    x_t, in [0, V).
d_embedded : ndarray, shape (H,)
    d loss / d u_t.

Returns
-------
d_embedding : ndarray, shape (V, H)
    d loss / d E from this step.""",
            hint="Only one row of E is read.  What is the gradient of the rows that are not?"),
        cython=_kernel("embedding_activation", ("d_embedding", "INOUT", "d_embedding")),
    ),
    Section(
        name="hh",
        twins=("hh_forward", "hh_backward"),
        inputs=("scaled_hh", "state", "delta"),
        outputs=("d_scaled_hh", "d_state"),
        wrt={"d_scaled_hh": "scaled_hh", "d_state": "state"},
        draw="_hh_inputs",
        mistakes="_hh",
        skeleton=Skeleton(
            title="Hidden to hidden",
            what="The gradients of the recurrent part of the step, S s_t.",
            shapes="""\
scaled_hh : ndarray, shape (H, H)
    S, the row-normalised W_hh.
state : ndarray, shape (H,)
    s_t, the state the step read.
delta : ndarray, shape (H,)
    d loss / d a_t.

Returns
-------
d_scaled_hh : ndarray, shape (H, H)
    d loss / d S from this step.
d_state : ndarray, shape (H,)
    d loss / d s_t through this step (the recurrent path).""",
            hint=("The same linear map as the input's section.  Entry s_j feeds every a_i: sum "
                  "over i.")),
        cython=_kernel("hh", ("d_scaled_hh", "INOUT", "d_scaled_hh"),
                       ("d_state", "INOUT", "d_state")),
    ),
    Section(
        name="row_normalise",
        twins=("row_normalise", "row_normalise_backward"),
        inputs=("hh", "d_scaled_hh"),
        outputs=("d_hh",),
        wrt={"d_hh": "hh"},
        draw="_row_normalise_inputs",
        mistakes="_row_normalise",
        skeleton=Skeleton(
            title="Row normalisation",
            what="W_hh's gradient through S[i] = hh[i] / (H ||hh[i]||).",
            shapes="""\
hh : ndarray, shape (H, H)
    W_hh, every row nonzero.
d_scaled_hh : ndarray, shape (H, H)
    d loss / d S, summed over all steps.

Returns
-------
d_hh : ndarray, shape (H, H)
    d loss / d W_hh.""",
            hint=("Row i of S depends on row i of W_hh alone, and only on its direction: what "
                  "must the gradient of a row be orthogonal to?")),
        cython=_kernel("row_normalise", ("d_hh", "INOUT", "d_hh")),
    ),
    Section(
        name="gain",
        twins=("gain_forward", "gain_backward"),
        inputs=("hh", "gain", "d_scaled_hh"),
        outputs=("d_hh", "d_gain"),
        wrt={"d_hh": "hh", "d_gain": "gain"},
        draw="_gain_inputs",
        mistakes="_gain",
        skeleton=Skeleton(
            title="The gain (optional)",
            what=("The gradients through S[i] = gain[i] hh[i] / ||hh[i]||, a learned row "
                  "length."),
            shapes="""\
hh : ndarray, shape (H, H)
    W_hh, every row nonzero.
gain : ndarray, shape (H,)
    gamma, any finite values (zero and negative included).
d_scaled_hh : ndarray, shape (H, H)
    d loss / d S, summed over all steps.

Returns
-------
d_hh : ndarray, shape (H, H)
    d loss / d W_hh.
d_gain : ndarray, shape (H,)
    d loss / d gamma.""",
            hint=("S[i] is gamma_i times a unit vector.  The gain takes the part of dS[i] along "
                  "that vector; the row normalisation's answer, with gamma_i for 1/H, takes the "
                  "rest.")),
        cython=_kernel("gain", ("d_hh", "INOUT", "d_hh"), ("d_gain", "INOUT", "d_gain")),
    ),)

#: The sections' names, in order.
NAMES = tuple(s.name for s in SECTIONS)

_BY_NAME = {s.name: s for s in SECTIONS}


def section(name):
    """The record of section ``name``.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.

    Returns
    -------
    Section

    Raises
    ------
    ValueError
        For a name that is not a section's.
    """
    if name not in _BY_NAME:
        raise ValueError(f"name must be one of {NAMES}, got {name!r}")
    return _BY_NAME[name]


def twin_names():
    """Every section's functions, in order: the sections' share of the twins' ``__all__``.

    Returns
    -------
    list of str
    """
    return [name for s in SECTIONS for name in s.twins]
