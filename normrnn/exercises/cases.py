"""The cases each exercise is graded on, and the right answers for them.

An exercise is graded on several cases that differ in *structure*, not only
in values, because a wrong answer that is right for one shape is common:

* two sizes at least, a small hidden size (H <= 4) and a large one (H >= 7),
  with a vocabulary V != H and a token >= H where a token is read;
* targets that are not the argmax of the logits;
* for the whole document (:mod:`.whole`): one token (T = 1), a long document (T >= 9),
  m = 0, m = 1 and m = T - 1 title positions, repeated tokens;
* every case in float32 and in float64 (:data:`DTYPES`).

The sizes, tokens and values are drawn from a seed and the exercise's name
(:func:`make_cases`), so a grade is reproduced by its seed; an instructor who
keeps a seed back grades on cases the learners have not seen.

For each output a case holds two right answers, both float64: central finite
differences of the forward pass of :mod:`normrnn.reference` (for a loss, the
forward's value itself), and the reference backward.  A section's objective
is J = <w, F(x)> for a seeded cotangent w, as in
:func:`normrnn.gradcheck.check_section`.
"""

import zlib
from dataclasses import dataclass

import numpy as np

from .. import gradcheck, reference
from ..section_registry import SECTIONS, section
from .beyond import draw_sizes, size_tags

__all__ = ["EXERCISES", "OUTPUTS", "INPUTS", "DTYPES", "Case", "make_cases", "make_case"]

#: The exercises, the sections first (the optional gain last); the exercises
#: beyond a single section (:data:`BEYOND`) are added below.
EXERCISES = tuple(s.name for s in SECTIONS)

#: The names of what each exercise returns, in order.  A section returns
#: exactly what ``normrnn.reference.<name>_backward`` returns.
OUTPUTS = {s.name: s.outputs for s in SECTIONS}

#: The names of each exercise's arguments, in order (those of the reference).
INPUTS = {s.name: s.inputs for s in SECTIONS}

#: Every case is graded in each of these dtypes.
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


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


def _section_case(name, rng, large):
    record = section(name)
    x, rest, objective, sizes, token = gradcheck.draw_inputs(name, rng, *draw_sizes(rng, large), large)
    values = {**x, **rest}
    args64 = tuple(values[k] for k in record.inputs)
    want = getattr(reference, record.backward)(*(np.array(a) if isinstance(a, np.ndarray)
                                                 else a for a in args64))
    want = want if isinstance(want, tuple) else (want,)
    reference_answer = {k: np.asarray(v, dtype=np.float64) for k, v in zip(record.outputs, want)}
    fd = {k: gradcheck.numerical_gradient(objective, x[wrt], gradcheck.step_sizes(wrt, x[wrt]))
          for k, wrt in record.wrt.items()}
    if "loss" in record.outputs:
        fd["loss"] = np.asarray(objective())
    tags = size_tags(sizes)
    if token is not None and token >= sizes["H"]:
        tags += (f"token {token} >= H",)
    return Case(name, args64, fd, reference_answer, sizes, tags)


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
    # seeded by the exercise's name, not its place in the list: adding an
    # exercise leaves every other exercise's cases as they were
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
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


# The exercises beyond a single section, each in a module of its own: the whole
# document (.whole), a padded batch (.batched) and proofs (.proofs).  They come
# after the sections, in that order.
from .batched import REGISTRY as _BATCHED  # noqa: E402
from .proofs import REGISTRY as _PROOFS  # noqa: E402
from .whole import REGISTRY as _WHOLE  # noqa: E402

#: Exercise -> :class:`.beyond.Exercise`: the one table of the exercises beyond a
#: single section.
BEYOND = {**_WHOLE, **_BATCHED, **_PROOFS}
EXERCISES += tuple(BEYOND)
OUTPUTS.update({name: e.outputs for name, e in BEYOND.items()})
INPUTS.update({name: e.inputs for name, e in BEYOND.items()})
