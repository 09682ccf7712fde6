"""The whole-document exercise: one document's loss and every parameter's gradient, by BPTT.

The learner writes ``loss_and_grads(embedding, ih, hh, bias, tokens,
title_length)``, the twin of :func:`normrnn.reference.loss_and_grads`.  It is
graded on five documents that differ in structure: one token (T = 1), a long
document (T >= 9), m = 0, m = 1 and m = T - 1 title positions, and repeated
tokens, one of them >= H; in float32 and float64.  The right answers are
central finite differences of :func:`normrnn.reference.loss` and the
reference itself.  Its exercise of the Cython track is the package's
``_document_by_section`` loop, composed of the section kernels.
"""

import zlib

import numpy as np

from .. import gradcheck, reference
from ..section_registry import CythonKernel
from .beyond import Exercise, ExtraCase, draw_sizes, size_tags

__all__ = ["NAME", "REGISTRY", "make_cases"]

NAME = "loss_and_grads"
INPUTS = ("embedding", "ih", "hh", "bias", "tokens", "title_length")
#: ``loss_and_grads`` returns ``(loss, grads)`` with ``grads`` a dict keyed
#: ``embedding``, ``ih``, ``hh``, ``bias``.
OUTPUTS = ("loss", "embedding", "ih", "hh", "bias")

#: The documents: (large, T, m), m = None for T - 1.
_DOCUMENTS = ((False, 6, 1), (True, 10, 0), (False, 1, 0), (True, 9, None), (False, 8, 2))


def _document_case(rng, large, T, m):
    V, H = draw_sizes(rng, large)
    m = T - 1 if m is None else m
    params = gradcheck._pseudocode_parameters(rng, V=V, H=H)
    tokens = [int(t) for t in rng.integers(0, V, size=T)]
    if T >= 3:                                   # repeated tokens, one of them >= H
        tokens[-1] = tokens[-2] = tokens[0] = int(rng.integers(H, V))
    loss, grads = reference.loss_and_grads(*params, tokens, m)
    reference_answer = {"loss": np.asarray(loss), **grads}
    fd = {"loss": np.asarray(reference.loss(*params, tokens, m))}
    for name, p in zip(OUTPUTS[1:], params):
        fd[name] = gradcheck.numerical_gradient(lambda: reference.loss(*params, tokens, m), p,
                                                gradcheck.step_sizes(name, p))
    tags = size_tags({"H": H, "V": V}) + (f"T = {T}",)
    tags += tuple(t for t, holds in (("m = 0", m == 0), ("m = 1", m == 1),
                                     ("m = T - 1", m == T - 1 and T > 1))
                  if holds) or (f"m = {m}",)
    if len(set(tokens)) < len(tokens):
        tags += ("repeated tokens",)
    return ExtraCase(NAME, tuple(params) + (tokens, m), fd, reference_answer,
                     {"H": H, "V": V, "N": T - m}, tags)


def make_cases(seed):
    """The five documents the exercise is graded on, drawn from ``seed``.

    Parameters
    ----------
    seed : int

    Returns
    -------
    list of ExtraCase
    """
    # seeded by the exercise's name, as a section's cases
    rng = np.random.default_rng([seed, zlib.crc32(NAME.encode())])
    return [_document_case(rng, *document) for document in _DOCUMENTS]


SKELETON = (
    ", ".join(INPUTS), "bptt", "Backpropagation through time",
    "The whole document: the loss and every parameter's gradient, by BPTT.",
    """\
embedding, ih, hh, bias : ndarray
    E (V, H), W_ih (H, H), W_hh (H, H), b (H,).
tokens : list of int
    x_0 .. x_{T-1}.
title_length : int
    m: positions t < m are not scored.

The forward: s_0 = 0, s_{t+1} = f(S s_t + W_ih f(E[x_t]) + b), and
L = sum over t >= m of -log softmax(E s_t)[x_t].

Returns
-------
loss : float
grads : dict
    "embedding", "ih", "hh", "bias": d L / d each, shaped like it.""",
    "Keep every state and pre-activation of the forward.  Walk back from "
    "t = T-1 to 1, carrying g_t = d L / d s_t: the logits at t add to it, "
    "the step from s_{t-1} passes it on.  Sum d S over all steps and put it "
    "through the row normalisation once, at the end.  Your section "
    "functions can be imported and reused.")

#: The Cython track's last exercise: the whole-document loop, composed of the section kernels.
CYTHON = CythonKernel(
    "_document_by_section", "document_loss_and_grads_by_section", "bptt_by_section.pyx",
    (("d_embedding", "INOUT", "embedding"), ("d_ih", "INOUT", "ih"), ("d_hh", "INOUT", "hh"),
     ("d_bias", "INOUT", "bias"), ("states", "OUT", None)),
    extra_inputs=("initial_state",), returns="loss", given=(), cimports_allowed=True)

REGISTRY = {NAME: Exercise(NAME, INPUTS, OUTPUTS, make_cases, SKELETON,
                           reference.loss_and_grads, cython=CYTHON)}
