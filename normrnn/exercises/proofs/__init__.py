"""Proofs you can check: the learner answers with a number or a small function.

Five exercises, each a claim of the docs turned into a question whose answer
the grader can check numerically and explain:

``max_slope``
    The maximum of abs(f') for f(x) = 1 - 1/(x^2 + x + 1), and every x where it
    is reached: ``max_slope()`` returns (maximum, where).
``spectral_bound``
    ||S||_2 <= 1/sqrt(H) for the fixed gain, and an S that reaches it:
    ``spectral_bound(H)`` returns (bound, scaled_hh); the grader checks the
    bound, that every row of the S has length 1/H (what the row
    normalisation makes, so S is reachable) and that ||S||_2 equals it, for
    several H.
``unrolled_hh``
    The hh gradient of BPTT as an explicit sum over steps, split by how many
    steps each term is carried back: ``unrolled_hh(scaled_hh, states, middles,
    state_grads)`` returns the terms; their sum, put through the row
    normalisation, must be the package's BPTT gradient of W_hh.
``complex_step``
    The complex-step derivative of f: ``complex_step(middle)`` returns f' at
    every entry, to about 1e-15 relative, also where f' is tiny (near
    x = -1/2, or abs(x) large), which finite differences cannot reach.
``truncation_bias``
    What truncated BPTT drops from each state gradient, measured, and the
    bound H^(-d/2) / (1 - H^(-1/2)) max||E^T dz|| on it
    (:func:`normrnn.bounds.truncation_bound`).

One module per proof (:mod:`.slope`, :mod:`.spectral`, :mod:`.unrolled`,
:mod:`.complex_steps`, :mod:`.truncation`): its right answer, its cases, its
check and its known mistakes; what they share is in :mod:`._shared`.

A proof is judged by its case (:func:`judge`, :mod:`.judging`), in the grading process: the
outputs are read from the child like a section's (inputs left alone, the
same on two calls), then each exercise's own check measures them, and
:func:`diagnose` names a known mistake or explains, with the measured
numbers, what is wrong.  An answer that returns a constant where a function
is asked fails: the cases vary H, T and the number of steps.
"""

from .complex_steps import REGISTRY as _COMPLEX
from .complex_steps import complex_step
from .judging import diagnose, judge
from .slope import REGISTRY as _SLOPE
from .slope import max_slope
from .spectral import REGISTRY as _SPECTRAL
from .spectral import spectral_bound
from .truncation import REGISTRY as _TRUNCATION
from .truncation import dropped_parts, truncation_bias
from .unrolled import REGISTRY as _UNROLLED
from .unrolled import unrolled_hh, unrolled_terms

__all__ = ["REGISTRY", "judge", "diagnose", "max_slope", "spectral_bound", "unrolled_hh",
           "complex_step", "truncation_bias", "unrolled_terms", "dropped_parts"]

#: Proof -> :class:`normrnn.exercises.beyond.Exercise`, in the order of the docs.
REGISTRY = {**_SLOPE, **_SPECTRAL, **_UNROLLED, **_COMPLEX, **_TRUNCATION}
