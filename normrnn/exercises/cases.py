"""The inputs each exercise is graded on, and the right answers for them.

A section's exercise reuses the inputs of its gradient check
(:func:`normrnn.gradcheck.check_section`): the same seeded random arrays, the
same cotangent.  The whole-model exercise runs on a small document.  For each
output the case holds two right answers: central finite differences of the
forward pass (for a loss, the forward's value itself) and the reference
backward of :mod:`normrnn.reference`, in float64.
"""

from dataclasses import dataclass

import numpy as np

from .. import gradcheck, reference

__all__ = ["EXERCISES", "OUTPUTS", "Case", "make_case"]

#: The exercises: the sections (the optional gain last), then the whole-document BPTT.
EXERCISES = gradcheck.SECTIONS + ("loss_and_grads",)

#: The names of what each exercise returns, in order.  A section returns
#: exactly what ``normrnn.reference.<name>_backward`` returns;
#: ``loss_and_grads`` returns ``(loss, grads)`` with ``grads`` a dict keyed
#: ``embedding``, ``ih``, ``hh``, ``bias``.
OUTPUTS = {
    "logits": ("loss", "d_embedding", "d_state"),
    "activation": ("delta",),
    "bias": ("d_bias",),
    "ih": ("d_ih", "d_embedded"),
    "embedding_activation": ("d_embedding",),
    "hh": ("d_scaled_hh", "d_state"),
    "row_normalise": ("d_hh",),
    "gain": ("d_hh", "d_gain"),
    "loss_and_grads": ("loss", "embedding", "ih", "hh", "bias"),
}

#: For a section, the gradient-check input each output is the gradient of.
_WRT = {
    "logits": {"d_embedding": "embedding", "d_state": "state"},
    "activation": {"delta": "middle"},
    "bias": {"d_bias": "bias"},
    "ih": {"d_ih": "ih", "d_embedded": "embedded"},
    "embedding_activation": {"d_embedding": "embedding"},
    "hh": {"d_scaled_hh": "scaled_hh", "d_state": "state"},
    "row_normalise": {"d_hh": "hh"},
    "gain": {"d_hh": "hh", "d_gain": "gain"},
}

#: The document of the whole-model exercise: a title of 2 tokens, then 6.
DOCUMENT = ([1, 4, 4, 0, 6, 2, 5, 3], 2)


@dataclass
class Case:
    """One exercise's inputs and right answers.

    Attributes
    ----------
    name : str
        The exercise, one of :data:`EXERCISES`.
    args : tuple
        The arguments the learner's function is called with, arrays in the
        graded dtype (pass copies: a function may write into its inputs).
    args64 : tuple
        The same arguments in float64, for the reference and the mistakes.
    finite_differences : dict
        Output name -> float64 finite-difference gradient (or the loss).
    reference : dict
        Output name -> float64 reference answer.
    sizes : dict
        ``H`` (hidden size) and, where the section has one, ``V`` (vocabulary
        size) and ``N`` (the number of scored positions).
    """

    name: str
    args: tuple
    args64: tuple
    finite_differences: dict
    reference: dict
    sizes: dict


class _Captured(Exception):
    """Raised by the stand-in backward that records the gradient check's call."""


def _float64(value):
    return value.astype(np.float64) if isinstance(value, np.ndarray) else value


def _section_case(name, seed, dtype):
    x, objective, analytic = gradcheck._CASES[name](np.random.default_rng(seed))
    captured = {}

    def record(*args):
        captured["args"] = args
        raise _Captured

    try:
        analytic(record, dtype)
    except _Captured:
        pass
    args = captured["args"]
    args64 = tuple(_float64(a) for a in args)
    want = getattr(reference, f"{name}_backward")(*args64)
    want = want if isinstance(want, tuple) else (want,)
    outputs = OUTPUTS[name]
    reference_answer = {k: np.asarray(v, dtype=np.float64) for k, v in zip(outputs, want)}
    fd = {k: gradcheck.numerical_gradient(objective, x[wrt], gradcheck.step_sizes(wrt, x[wrt]))
          for k, wrt in _WRT[name].items()}
    if "loss" in outputs:
        fd["loss"] = np.asarray(objective())
    first = args64[0]
    sizes = {"H": first.shape[-1]}
    if name in ("logits", "embedding_activation"):
        sizes["V"] = first.shape[0]
    return Case(name, args, args64, fd, reference_answer, sizes)


def _model_case(seed, dtype):
    rng = np.random.default_rng(seed)
    params = gradcheck._pseudocode_parameters(rng)
    tokens, m = DOCUMENT
    loss, grads = reference.loss_and_grads(*params, tokens, m)
    reference_answer = {"loss": np.asarray(loss), **grads}
    fd = {"loss": np.asarray(reference.loss(*params, tokens, m))}
    for name, p in zip(("embedding", "ih", "hh", "bias"), params):
        fd[name] = gradcheck.numerical_gradient(lambda: reference.loss(*params, tokens, m), p,
                                                gradcheck.step_sizes(name, p))
    args = tuple(p.astype(dtype) for p in params) + (list(tokens), m)
    args64 = tuple(params) + (list(tokens), m)
    V, H = params[0].shape
    return Case("loss_and_grads", args, args64, fd, reference_answer,
                {"H": H, "V": V, "N": len(tokens) - m})


def make_case(name, *, seed=0, dtype=np.float64):
    """The inputs and right answers of exercise ``name``.

    Parameters
    ----------
    name : str
        One of :data:`EXERCISES`.
    seed : int, optional
    dtype : {numpy.float64, numpy.float32}, optional

    Returns
    -------
    Case
    """
    if name == "loss_and_grads":
        return _model_case(seed, dtype)
    return _section_case(name, seed, dtype)
