"""What the proofs share: the accuracy they ask for, f and f', the documents they are
graded on, and the pieces of their checks."""

import numpy as np

from ... import gradcheck, reference


#: Relative error a float64 answer must reach; derived answers reach about 1e-15.
EXACT = 1e-12
#: The complex step's accuracy, entry by entry, relative to f'(x) there.
COMPLEX_STEP = 1e-13


def _rel(got, want):
    """Relative error of ``got`` against ``want`` (max-abs over max-abs), as the grader's."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    error = np.abs(got - want).max(initial=0.0)
    scale = np.abs(want).max(initial=0.0)
    return float(error / scale) if scale > 0 else float(error)


# f and f' are the reference's (f works on complex numbers as on reals)
_f = reference.activation
_f_prime = reference.activation_grad


def _document(rng, large, T, m):
    """A model and a document: S, states, middles, state gradients, and what made them."""
    # not H = 4, where rho / (1 - rho) = 1 makes two wrong bounds equal
    H = int(rng.integers(7, 10) if large else rng.integers(2, 4))
    V = H + int(rng.integers(2, 5))
    params = gradcheck._pseudocode_parameters(rng, V=V, H=H)
    embedding, ih, hh, bias = params
    tokens = [int(x) for x in rng.integers(0, V, size=T)]
    scaled_hh = reference.row_normalise(hh)
    states = reference.forward(*params, tokens)
    middles = np.array([scaled_hh @ states[t] + ih @ reference.activation(embedding[tokens[t]])
                        + bias for t in range(T - 1)]).reshape(T - 1, H)
    state_grads = np.array([reference.logits_backward(embedding, states[t], tokens[t])[2]
                            if t >= m else np.zeros(H) for t in range(T)])
    return params, tokens, scaled_hh, states, middles, state_grads


def _tags(H, T, m, extra=()):
    return (f"H = {H}", f"T = {T}", *(("m = 0",) if m == 0 else ("m = T - 1",) if m == T - 1
                                      else (f"m = {m}",)), *extra)


#: The documents of the unrolled sum and the truncation: (large, T, m, steps).
_DOCUMENTS = ((False, 6, 1, 1), (True, 9, 0, 3), (False, 2, 0, 1), (True, 1, 0, 1),
              (False, 8, 7, 2), (True, 5, 0, 5))


class _Check:
    """An exercise's check: ``shape(case, got)`` -> problem or "", ``errors(case, got, want)``
    -> {output: (vs the independent answer, vs the grader's)}, ``explain(case, got)`` -> a
    measured sentence on what is wrong (where no known mistake matches)."""

    def __init__(self, shape, errors, explain):
        self.shape, self.errors, self.explain = shape, errors, explain


def _number(name, value):
    if isinstance(value, np.ndarray) and value.shape == () or isinstance(value, float):
        return ""
    return f"{name} must be a number, got {_kind(value)}"


def _kind(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return str(value) if isinstance(value, str) else f"a {type(value).__name__}"


def _array(name, value, shape, what):
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        return f"{name} must be a numpy array of numbers, got {_kind(value)}"
    if value.shape != tuple(shape):
        return f"{name} has shape {value.shape}, expected {tuple(shape)} ({what})"
    return ""


def _first(*problems):
    return next((p for p in problems if p), "")
