"""The cases each exercise is graded on, and the right answers for them.

An exercise is graded on several cases that differ in *structure*, not only
in values, because a wrong answer that is right for one shape is common:

* two sizes at least, a small hidden size (H <= 4) and a large one (H >= 7),
  with a vocabulary V != H and a token >= H where a token is read;
* targets that are not the argmax of the logits;
* for the whole document: one token (T = 1), a long document (T >= 9),
  m = 0, m = 1 and m = T - 1 title positions, repeated tokens;
* every case in float32 and in float64 (:data:`DTYPES`).

The sizes, tokens and values are drawn from a seed (:func:`make_cases`), so a
grade is reproduced by its seed; an instructor who keeps a seed back grades on
cases the learners have not seen.

For each output a case holds two right answers, both float64: central finite
differences of the forward pass of :mod:`normrnn.reference` (for a loss, the
forward's value itself), and the reference backward.  A section's objective
is J = <w, F(x)> for a seeded cotangent w, as in
:func:`normrnn.gradcheck.check_section`.
"""

from dataclasses import dataclass

import numpy as np

from .. import gradcheck, reference

__all__ = ["EXERCISES", "OUTPUTS", "INPUTS", "DTYPES", "Case", "make_cases", "make_case"]

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

#: The names of each exercise's arguments, in order (those of the reference).
INPUTS = {
    "logits": ("embedding", "state", "token"),
    "activation": ("d_state", "middle"),
    "bias": ("delta",),
    "ih": ("ih", "embedded", "delta"),
    "embedding_activation": ("embedding", "token", "d_embedded"),
    "hh": ("scaled_hh", "state", "delta"),
    "row_normalise": ("hh", "d_scaled_hh"),
    "gain": ("hh", "gain", "d_scaled_hh"),
    "loss_and_grads": ("embedding", "ih", "hh", "bias", "tokens", "title_length"),
}

#: Every case is graded in each of these dtypes.
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

#: For a section, the input each output is the gradient of.
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


@dataclass
class Case:
    """One structure of one exercise: its inputs and right answers.

    Attributes
    ----------
    name : str
        The exercise, one of :data:`EXERCISES`.
    args64 : tuple
        The arguments in float64 (integers and token lists as they are);
        :meth:`args` casts them to a graded dtype.
    finite_differences : dict
        Output name -> float64 finite-difference gradient (or the loss).
    reference : dict
        Output name -> float64 reference answer.
    sizes : dict
        ``H`` (hidden size) and, where the section has one, ``V`` (vocabulary
        size) and ``N`` (the number of scored positions).
    tags : tuple of str
        What sets this case apart, each a short phrase (``"H = 8"``,
        ``"m = 0"``, ``"repeated tokens"``): the kinds a failure is named by.
    """

    name: str
    args64: tuple
    finite_differences: dict
    reference: dict
    sizes: dict
    tags: tuple

    def args(self, dtype):
        """The arguments with every float array cast to ``dtype`` (fresh arrays).

        Parameters
        ----------
        dtype : numpy.dtype

        Returns
        -------
        tuple
        """
        return tuple(np.array(a, dtype=dtype) if isinstance(a, np.ndarray) else
                     list(a) if isinstance(a, list) else a for a in self.args64)

    def describe(self, dtype):
        """The case in a few words: its tags and ``dtype``, e.g. ``"H = 8, V = 11, float32"``."""
        return ", ".join((*self.tags, np.dtype(dtype).name))


def _sizes(rng, large):
    """(V, H): H in 2..4, or 7..9 when ``large``; V > H + 1, so a token >= H exists."""
    H = int(rng.integers(7, 10) if large else rng.integers(2, 5))
    return int(H + rng.integers(2, 5)), H


def _size_tags(sizes):
    return tuple(f"{k} = {sizes[k]}" for k in ("H", "V") if k in sizes)


def _not_argmax(rng, z, low=0):
    """A token in [low, len(z)) that is not the argmax of ``z``."""
    choices = [v for v in range(low, len(z)) if v != int(np.argmax(z))]
    return int(rng.choice(choices))


def _section(name, rng, large):
    """(x, rest, objective): the inputs to perturb, the others, and J."""
    V, H = _sizes(rng, large)
    if name in ("logits", "embedding_activation"):
        x = {"embedding": rng.normal(size=(V, H))}
        if name == "logits":
            x["state"] = rng.uniform(-1 / 3, 1, size=H)
            token = _not_argmax(rng, x["embedding"] @ x["state"], low=H if large else 0)

            def objective():
                return reference.logits_backward(x["embedding"], x["state"], token)[0]
            return x, {"token": token}, objective, {"H": H, "V": V}, token
        token = int(rng.integers(H, V))                  # a token >= H
        w = rng.normal(size=H)

        def objective():
            return float(w @ reference.embedding_activation_forward(x["embedding"], token))
        return x, {"token": token, "d_embedded": w}, objective, {"H": H, "V": V}, token
    sizes = {"H": H}
    if name == "activation":
        # spread over the interesting region, f's minimum at -1/2 included
        x = {"middle": np.linspace(-3.0, 3.0, H) + 0.1 * rng.normal(size=H)}
        w = rng.normal(size=H)
        return x, {"d_state": w}, lambda: float(w @ reference.activation(x["middle"])), sizes, None
    if name == "bias":
        x, rest, w = {"bias": rng.normal(size=H)}, rng.normal(size=H), rng.normal(size=H)
        return x, {"delta": w}, lambda: float(w @ (rest + x["bias"])), sizes, None
    if name in ("ih", "hh"):
        matrix, vector, forward, x, w = gradcheck._linear_inputs(name, rng, H)
        return x, {"delta": w}, lambda: float(w @ forward(x[matrix], x[vector])), sizes, None
    # row_normalise, gain: rows of very different norms, so each must be scaled by its own
    x = {"hh": rng.normal(size=(H, H)) * np.logspace(-2, 2, H)[:, None]}
    w = rng.normal(size=(H, H))
    if name == "row_normalise":
        return (x, {"d_scaled_hh": w}, lambda: float((w * reference.row_normalise(x["hh"])).sum()),
                sizes, None)
    x["gain"] = rng.normal(size=H)
    x["gain"][H // 2] = 0.0                              # defined for every finite gain
    return (x, {"d_scaled_hh": w},
            lambda: float((w * reference.gain_forward(x["hh"], x["gain"])).sum()), sizes, None)


def _section_case(name, rng, large):
    x, rest, objective, sizes, token = _section(name, rng, large)
    values = {**x, **rest}
    args64 = tuple(values[k] for k in INPUTS[name])
    want = getattr(reference, f"{name}_backward")(*(np.array(a) if isinstance(a, np.ndarray)
                                                    else a for a in args64))
    want = want if isinstance(want, tuple) else (want,)
    reference_answer = {k: np.asarray(v, dtype=np.float64) for k, v in zip(OUTPUTS[name], want)}
    fd = {k: gradcheck.numerical_gradient(objective, x[wrt], gradcheck.step_sizes(wrt, x[wrt]))
          for k, wrt in _WRT[name].items()}
    if "loss" in OUTPUTS[name]:
        fd["loss"] = np.asarray(objective())
    tags = _size_tags(sizes)
    if token is not None and token >= sizes["H"]:
        tags += (f"token {token} >= H",)
    return Case(name, args64, fd, reference_answer, sizes, tags)


#: The documents of the whole-model exercise: (large, T, m), m = None for T - 1.
_DOCUMENTS = ((False, 6, 1), (True, 10, 0), (False, 1, 0), (True, 9, None), (False, 8, 2))


def _model_case(rng, large, T, m):
    V, H = _sizes(rng, large)
    m = T - 1 if m is None else m
    params = gradcheck._pseudocode_parameters(rng, V=V, H=H)
    tokens = [int(t) for t in rng.integers(0, V, size=T)]
    if T >= 3:                                   # repeated tokens, one of them >= H
        tokens[-1] = tokens[-2] = tokens[0] = int(rng.integers(H, V))
    loss, grads = reference.loss_and_grads(*params, tokens, m)
    reference_answer = {"loss": np.asarray(loss), **grads}
    fd = {"loss": np.asarray(reference.loss(*params, tokens, m))}
    for name, p in zip(OUTPUTS["loss_and_grads"][1:], params):
        fd[name] = gradcheck.numerical_gradient(lambda: reference.loss(*params, tokens, m), p,
                                                gradcheck.step_sizes(name, p))
    tags = _size_tags({"H": H, "V": V}) + (f"T = {T}",)
    tags += tuple(t for t, holds in (("m = 0", m == 0), ("m = 1", m == 1),
                                     ("m = T - 1", m == T - 1 and T > 1))
                  if holds) or (f"m = {m}",)
    if len(set(tokens)) < len(tokens):
        tags += ("repeated tokens",)
    return Case("loss_and_grads", tuple(params) + (tokens, m), fd, reference_answer,
                {"H": H, "V": V, "N": T - m}, tags)


def make_cases(name, *, seed=0):
    """The cases exercise ``name`` is graded on, drawn from ``seed``.

    Parameters
    ----------
    name : str
        One of :data:`EXERCISES`.
    seed : int, optional
        Seed of the sizes, tokens and values: the same seed gives the same
        cases.

    Returns
    -------
    list of Case
        A section has a small (H <= 4) and a large (H >= 7) case; the whole
        document has five (see the module's docstring).  Each is graded in
        every dtype of :data:`DTYPES`.
    """
    if name not in EXERCISES:
        raise ValueError(f"name must be one of {EXERCISES}, got {name!r}")
    if name in BEYOND:
        return BEYOND[name].make_cases(seed)
    rng = np.random.default_rng([seed, EXERCISES.index(name)])
    if name == "loss_and_grads":
        return [_model_case(rng, *document) for document in _DOCUMENTS]
    return [_section_case(name, rng, large) for large in (True, False)]


def make_case(name, *, seed=0):
    """The first case of :func:`make_cases` (a large one): for examples and tests.

    Parameters
    ----------
    name : str
    seed : int, optional

    Returns
    -------
    Case
    """
    return make_cases(name, seed=seed)[0]


# The exercises beyond a single section, each in a module of its own: a padded
# batch (.batched) and proofs (.proofs).  They come after the sections.
from .batched import REGISTRY as _BATCHED  # noqa: E402
from .proofs import REGISTRY as _PROOFS  # noqa: E402

#: Exercise -> :class:`.beyond.Exercise`, for the exercises beyond a single section.
BEYOND = {**_BATCHED, **_PROOFS}
EXERCISES += tuple(BEYOND)
OUTPUTS.update({name: e.outputs for name, e in BEYOND.items()})
INPUTS.update({name: e.inputs for name, e in BEYOND.items()})
