"""What the exercises beyond a single section share: their record and their case.

The whole document (:mod:`.whole`), the padded batch (:mod:`.batched`) and
the proofs (:mod:`.proofs`) are one table,
:data:`normrnn.exercises.cases.BEYOND`, of :class:`Exercise` records, graded
by the same machinery as the sections (:mod:`.grading`,
:mod:`.isolated`): each exercise is an :class:`Exercise` record, each case an
:class:`ExtraCase`.  A case that carries its own ``judge`` and ``diagnose``
(the proofs) is checked by them; the others (the whole document, the batch) like a section, on
finite differences and a reference.  Everything here runs in the grading
process; the learner's function only ever runs in the child.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Exercise", "ExtraCase", "Mistake", "BOTH", "FLOAT64", "draw_sizes", "size_tags"]

#: Graded in float64 and float32 (as the sections).
BOTH = (np.dtype(np.float64), np.dtype(np.float32))
#: Graded in float64 only (an answer that is a number, or exact to the last digits).
FLOAT64 = (np.dtype(np.float64),)


@dataclass(frozen=True)
class Exercise:
    """One exercise beyond a single section.

    Attributes
    ----------
    function : str
        The name of the learner's function.
    inputs, outputs : tuple of str
        The names of its arguments and of what it returns, in order.
    make_cases : callable
        ``make_cases(seed)`` -> list of :class:`ExtraCase`.
    skeleton : tuple
        (arguments, docs page, title, what to compute, shapes, hint), as
        :data:`normrnn.exercises.skeletons.SKELETONS`.
    solution : callable
        A right answer (what ``normrnn exercise solution NAME`` prints).
    cython : normrnn.section_registry.CythonKernel or None
        Its exercise of the Cython track, if it has one (the whole document).
    """

    function: str
    inputs: tuple
    outputs: tuple
    make_cases: object
    skeleton: tuple
    solution: object
    cython: object = None


def draw_sizes(rng, large):
    """(V, H): H in 2..4, or 7..9 when ``large``; V > H + 1, so a token >= H exists.

    Parameters
    ----------
    rng : numpy.random.Generator
    large : bool

    Returns
    -------
    V, H : int
    """
    H = int(rng.integers(7, 10) if large else rng.integers(2, 5))
    return int(H + rng.integers(2, 5)), H


def size_tags(sizes):
    """``("H = 8", "V = 11")``: the tags of a case's sizes (H, then V where it has one)."""
    return tuple(f"{k} = {sizes[k]}" for k in ("H", "V") if k in sizes)


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer of a proof: its outputs (float64), and why it is wrong."""

    label: str
    outputs: dict = field(default_factory=dict)


@dataclass
class ExtraCase:
    """One structure of an exercise beyond a section (the interface of
    :class:`normrnn.exercises.cases.Case`, with the integers, masks and token
    arrays kept as they are).

    Attributes
    ----------
    name : str
    args64 : tuple
        The arguments; float arrays in float64.
    finite_differences, reference : dict
        Output name -> float64 right answer, from two independent computations.
    sizes : dict
    tags : tuple of str
    dtypes : tuple of numpy.dtype
        The dtypes this case is graded in.
    mistakes : callable or None
        ``mistakes(case)`` -> list of candidates (objects with ``label`` and
        ``outputs``) for :func:`normrnn.exercises.mistakes.candidates`.
    check : callable or None
        For a proof: ``check(case)`` -> the exercise's check (shapes, errors,
        explanations, :mod:`.proofs`); the case then judges itself
        (:meth:`judge`, :meth:`diagnose`).
    tolerance64 : float
        For a proof, the tolerance in float64 (0: the proofs' default).
    hidden : dict
        What made the case and the learner is not given (the grader's only).
    """

    name: str
    args64: tuple
    finite_differences: dict
    reference: dict
    sizes: dict
    tags: tuple
    dtypes: tuple = BOTH
    mistakes: object = None
    check: object = None
    tolerance64: float = 0.0
    hidden: dict = field(default_factory=dict)

    def args(self, dtype):
        """The arguments, every float array cast to ``dtype`` (fresh arrays); integer and
        boolean arrays, ints and lists kept as they are."""
        return tuple(np.array(a, dtype=dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                     else np.array(a) if isinstance(a, np.ndarray) else
                     list(a) if isinstance(a, list) else a for a in self.args64)

    def describe(self, dtype):
        """The case in a few words (its tags, and the dtype where it has two)."""
        dtype_name = (np.dtype(dtype).name,) if len(self.dtypes) > 1 else ()
        return ", ".join((*self.tags, *dtype_name)) or "the one case"

    def judge(self, dtype, outcome):
        """A proof's verdict on one call (:func:`normrnn.exercises.proofs.judge`)."""
        from .proofs import judge
        return judge(self, dtype, outcome)

    def diagnose(self, got, tolerance, failing):
        """A proof's diagnosis (:func:`normrnn.exercises.proofs.diagnose`)."""
        from .proofs import diagnose
        return diagnose(self, got, tolerance, failing)
