"""Gradient checks by central finite differences, in float64.

A section's backward is a vector-Jacobian product: given a cotangent w for the
section's output y = F(x), it returns w^T dF/dx.  So every section is checked
the same way: pick random inputs and a random w, and compare the backward with
the central difference of the scalar J(x) = <w, F(x)>::

    dJ/dx_k ~ (J(x + eps e_k) - J(x - eps e_k)) / (2 eps)

The truncation error of the central difference is O(eps^2) and its rounding
error O(u / eps) with u = 2^-53; eps near u^(1/3) ~ 6e-6 balances the two, near
1e-10 relative (the tutorial on step sizes plots the V curve), so
``EPS = 1e-5``.  The step is relative to the scale on which the function
curves: for ``hh``, whose rows enter only through their directions
hh[i] / ||hh[i]||, that scale is the row's norm, and the step for row i is
EPS ||hh[i]|| (:func:`step_sizes`).  Errors are reported as

    relative_error(got, want) = max |got - want| / max |want|

relative to the largest entry of the finite-difference gradient ``want``, so
it stays meaningful when single entries are zero, and a formula that is off by
its own size reads as 1 (100%).
"""

from dataclasses import dataclass

import numpy as np

from . import _validate, reference, section_registry, sections

__all__ = [
    "SECTIONS",
    "TOLERANCES",
    "Row",
    "relative_error",
    "numerical_gradient",
    "step_sizes",
    "check_section",
    "draw_inputs",
    "check_model",
    "check_all",
    "check_erratum",
    "scaling_power",
    "format_table",
]

#: The sections' names (:data:`normrnn.section_registry.NAMES`).
SECTIONS = section_registry.NAMES

#: Tolerance of the check for an analytic gradient computed in each dtype.
#: float64: central differences reach about 1e-10 relative on these small
#: problems (truncation eps^2 ~ 1e-10, rounding u/eps ~ 1e-11, times the
#: problem's scale), so 1e-7 leaves two or three orders of margin while a wrong
#: formula is off by order one.  float32: the analytic side carries float32 rounding,
#: u = 6e-8 amplified by sums of length H or V, so 1e-4.
TOLERANCES = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-4}

EPS = 1e-5


def relative_error(got, want):
    """max |got - want| / max |want|: the error relative to the largest true entry.

    Parameters
    ----------
    got : array_like
        The gradient under test.
    want : array_like
        The reference (finite differences), same shape.

    Returns
    -------
    float
        The relative error; the absolute one, max |got|, when ``want`` is all
        zero (a gradient that should vanish).
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise ValueError(f"shapes differ: {got.shape} and {want.shape}")
    error = np.abs(got - want).max(initial=0.0)
    scale = np.abs(want).max(initial=0.0)
    return float(error / scale) if scale > 0 else float(error)


def step_sizes(name, x):
    """The finite-difference step for each entry of the parameter ``name``.

    EPS for every parameter but ``hh`` (and ``scaled_hh``'s source ``hh`` in
    the row-normalisation section), whose row i gets EPS ||hh[i]||: the loss
    sees a row only through its direction, so it curves on the scale of the
    row's norm, and a fixed step would be too coarse for a short row and too
    fine for a long one.

    Parameters
    ----------
    name : str
        The parameter's name.
    x : ndarray
        Its value.

    Returns
    -------
    float or ndarray
        A scalar, or an array broadcastable to ``x.shape``.
    """
    if name == "hh":
        return EPS * np.linalg.norm(x, axis=1, keepdims=True)
    return EPS


def numerical_gradient(fun, x, eps=EPS):
    """Central finite differences of the scalar ``fun()`` with respect to ``x``.

    ``x`` (float64) is perturbed in place, one entry at a time, and restored.

    Parameters
    ----------
    fun : callable
        No arguments; reads ``x`` and returns a float.
    x : ndarray, float64
        The array to differentiate with respect to.
    eps : float or ndarray, optional
        The step, or one step per entry (broadcastable to ``x.shape``).

    Returns
    -------
    ndarray
        The difference quotients, shaped like ``x``.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    steps = np.broadcast_to(np.asarray(eps, dtype=np.float64), x.shape)
    for k in np.ndindex(x.shape):
        old, h = x[k], steps[k]
        x[k] = old + h
        plus = fun()
        x[k] = old - h
        minus = fun()
        x[k] = old
        grad[k] = (plus - minus) / (2 * h)
    return grad


# --- the inputs of each section: one function each, named by its record (draw) --
# Each gets the generator, the sizes V and H and whether the case is a large
# one (the exercises grade a large and a small), and returns (x, rest,
# objective, sizes, token): the float64 inputs to perturb, the other inputs
# (the cotangent w among them), J = <w, F(x)> built from the NumPy forward,
# the sizes that name the case, and the token read (or None).  The gradient
# check draws at V = 7, H = 5; the exercises at sizes they draw.

def _logits_inputs(rng, V, H, large):
    x = {"embedding": rng.normal(size=(V, H)), "state": rng.uniform(-1 / 3, 1, size=H)}
    token = _not_argmax(rng, x["embedding"] @ x["state"], low=H if large else 0)

    def objective():
        return reference.logits_backward(x["embedding"], x["state"], token)[0]
    return x, {"token": token}, objective, {"H": H, "V": V}, token


def _activation_inputs(rng, V, H, large):
    # spread over the interesting region, f's minimum at -1/2 included
    x = {"middle": np.linspace(-3.0, 3.0, H) + 0.1 * rng.normal(size=H)}
    w = rng.normal(size=H)
    return x, {"d_state": w}, lambda: float(w @ reference.activation(x["middle"])), {"H": H}, None


def _bias_inputs(rng, V, H, large):
    x, rest, w = {"bias": rng.normal(size=H)}, rng.normal(size=H), rng.normal(size=H)
    return x, {"delta": w}, lambda: float(w @ (rest + x["bias"])), {"H": H}, None


def _linear_inputs(name, rng, H):
    """ih and hh are the same linear map y = M v; only the names and inputs differ.

    ``ih`` gets a Gaussian W_ih and u = f(E[x]) as the model makes it; ``hh``
    gets a row-normalised S and a state, so the two sections (and the notes'
    errata 1 and 2) are checked on different numbers.
    """
    if name == "ih":
        matrix, vector, forward = "ih", "embedded", reference.ih_forward
        x = {matrix: rng.normal(size=(H, H)),
             vector: reference.activation(rng.normal(size=H))}
    else:
        matrix, vector, forward = "scaled_hh", "state", reference.hh_forward
        x = {matrix: reference.row_normalise(rng.normal(size=(H, H))),
             vector: rng.uniform(-1 / 3, 1, size=H)}
    w = rng.normal(size=H)
    return x, {"delta": w}, lambda: float(w @ forward(x[matrix], x[vector])), {"H": H}, None


def _ih_inputs(rng, V, H, large):
    return _linear_inputs("ih", rng, H)


def _hh_inputs(rng, V, H, large):
    return _linear_inputs("hh", rng, H)


def _embedding_activation_inputs(rng, V, H, large):
    x = {"embedding": rng.normal(size=(V, H))}
    token = int(rng.integers(H, V))                      # a token >= H
    w = rng.normal(size=H)

    def objective():
        return float(w @ reference.embedding_activation_forward(x["embedding"], token))
    return x, {"token": token, "d_embedded": w}, objective, {"H": H, "V": V}, token


def _uneven_rows(rng, H):
    """hh with rows of very different norms, so each must be scaled by its own, and dS."""
    return {"hh": rng.normal(size=(H, H)) * np.logspace(-2, 2, H)[:, None]}, rng.normal(size=(H, H))


def _row_normalise_inputs(rng, V, H, large):
    x, w = _uneven_rows(rng, H)
    return (x, {"d_scaled_hh": w}, lambda: float((w * reference.row_normalise(x["hh"])).sum()),
            {"H": H}, None)


def _gain_inputs(rng, V, H, large):
    x, w = _uneven_rows(rng, H)
    x["gain"] = rng.normal(size=H)
    x["gain"][H // 2] = 0.0                              # defined for every finite gain
    return (x, {"d_scaled_hh": w},
            lambda: float((w * reference.gain_forward(x["hh"], x["gain"])).sum()), {"H": H}, None)


def _not_argmax(rng, z, low=0):
    """A token in [low, len(z)) that is not the argmax of ``z``."""
    choices = [v for v in range(low, len(z)) if v != int(np.argmax(z))]
    return int(rng.choice(choices))


def draw_inputs(name, rng, V, H, large=False):
    """Random inputs of section ``name``'s backward, and the objective its gradients are of.

    Parameters
    ----------
    name : str
        One of :data:`SECTIONS`.
    rng : numpy.random.Generator
    V, H : int
        The vocabulary and hidden sizes, V > H + 1.
    large : bool, optional
        Whether the case is the large one of an exercise (the logits then
        read a token >= H).

    Returns
    -------
    x : dict
        The float64 inputs the outputs are gradients of, to perturb.
    rest : dict
        The backward's other inputs: the cotangent w, a token.
    objective : callable
        J = <w, F(x)>, from the NumPy forward (for the logits, the loss).
    sizes : dict
        ``H``, and ``V`` where the section reads a token.
    token : int or None
        The token read.
    """
    return globals()[section_registry.section(name).draw](rng, V, H, large)


def _section_case(name, rng, V=7, H=5):
    """(inputs, objective, analytic): the inputs to perturb, J, and the backward's gradients."""
    record = section_registry.section(name)
    x, rest, objective, _, _ = draw_inputs(name, rng, V, H)
    values = {**x, **rest}

    def analytic(backward, dtype):
        got = backward(*(_cast(values[k], dtype) if isinstance(values[k], np.ndarray)
                         else values[k] for k in record.inputs))
        got = got if isinstance(got, tuple) else (got,)
        return {record.wrt[k]: v for k, v in zip(record.outputs, got) if k in record.wrt}
    return x, objective, analytic


def _cast(x, dtype):
    return np.ascontiguousarray(x, dtype=dtype)


def check_section(name, *, dtype=np.float64, backward=None, seed=0):
    """Check one section's backward against central finite differences.

    Parameters
    ----------
    name : str
        One of :data:`SECTIONS`.
    dtype : {numpy.float64, numpy.float32}, optional
        The dtype the backward runs in; the finite differences are float64.
    backward : callable, optional
        The backward to check, with the signature of
        ``normrnn.reference.<name>_backward``; by default the Cython kernel
        ``normrnn.sections.<name>_backward``.  Pass one of :mod:`normrnn.notes`
        to see an erratum fail.
    seed : int, optional
        Seed of the random inputs and cotangent.

    Returns
    -------
    dict
        Input name -> :func:`relative_error` of the backward against finite
        differences.
    """
    record = section_registry.section(name)
    dtype = _validate.float_dtype(dtype)
    if backward is None:
        backward = getattr(sections, record.backward)
    x, objective, analytic = _section_case(name, np.random.default_rng(seed))
    got = analytic(backward, dtype)
    return {k: relative_error(got[k], numerical_gradient(objective, x[k], step_sizes(k, x[k])))
            for k in x}


def check_model(model, tokens, title_length):
    """Check a whole model's gradients against central finite differences.

    The analytic gradients come from ``model.loss_and_grads`` in the model's
    dtype; the finite differences from a float64 copy of the model, each
    evaluation forward only (:meth:`~normrnn.NormRNN.loss`, which keeps
    nothing for a backward pass).

    Parameters
    ----------
    model : NormRNN
    tokens : sequence of int
    title_length : int

    Returns
    -------
    dict
        Parameter name -> :func:`relative_error`.
    """
    _, grads = model.loss_and_grads(tokens, title_length)
    model64 = model.copy()
    for name, p in model.parameters().items():
        setattr(model64, name, p.astype(np.float64))
    return {name: relative_error(g, numerical_gradient(
                lambda: model64.loss(tokens, title_length), getattr(model64, name),
                step_sizes(name, getattr(model64, name))))
            for name, g in grads.items()}


@dataclass(frozen=True)
class Row:
    """One line of a gradient-check table."""

    section: str
    wrt: str
    error: float
    tolerance: float

    @property
    def passed(self):
        """Whether ``error <= tolerance``."""
        return self.error <= self.tolerance


def check_all(*, dtype=np.float64, sections=None, seed=0):
    """Check every section (or those named), one :class:`Row` per input.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
    sections : sequence of str, optional
        Names from :data:`SECTIONS`; all by default.
    seed : int, optional

    Returns
    -------
    list of Row
    """
    tolerance = TOLERANCES[_validate.float_dtype(dtype)]
    return [Row(name, wrt, error, tolerance)
            for name in (SECTIONS if sections is None else sections)
            for wrt, error in check_section(name, dtype=dtype, seed=seed).items()]


#: The errata of the training pseudocode, measured by :func:`check_erratum`
#: on this document (title of 2 tokens, then 5 of text).
ERRATUM_DOCUMENT = ([1, 4, 4, 0, 6, 2, 5], 2)


def _pseudocode_parameters(rng, V=7, H=5):
    """Parameters (E, W_ih, W_hh, b) of the document the pseudocode errata are measured on."""
    return [rng.normal(size=(V, H)), rng.normal(size=(H, H)) / np.sqrt(H),
            rng.normal(size=(H, H)), 0.1 * rng.normal(size=H)]


def check_erratum(number, *, seed=0):
    """The error each erratum of the notes makes, measured alone.

    Errata 1-3 are backward formulas, put through :func:`check_section`;
    4, 5 and 8 are forward formulas, compared with the right forward; 6 and
    9-12 are slips of the training pseudocode, each switched on alone in
    :func:`normrnn.notes.pseudocode_loss_and_grads` (every other erratum
    fixed) and compared with finite differences of the true loss; 7 is the
    notes' f' evaluated by Python at x = 0 .. 4.

    Parameters
    ----------
    number : int
        1 to 12, as in :data:`normrnn.notes.ERRATA`.
    seed : int, optional

    Returns
    -------
    float
        The largest relative error the erratum makes (compare with the
        tolerances of :data:`TOLERANCES`).
    """
    from . import notes

    rng = np.random.default_rng(seed)
    if number in (1, 2, 3):
        name = {1: "ih", 2: "hh", 3: "row_normalise"}[number]
        errors = check_section(name, backward=getattr(notes, f"{name}_backward"), seed=seed)
        return max(errors.values())
    if number == 4:
        hh = rng.normal(size=(5, 5))
        return relative_error(notes.row_normalise_torch(hh), reference.row_normalise(hh))
    if number == 5:
        scaled_hh, state = rng.normal(size=(5, 5)), rng.normal(size=5)
        return relative_error(notes.hh_forward(scaled_hh, state),
                              reference.hh_forward(scaled_hh, state))
    if number == 8:
        ih = rng.normal(size=(5, 5)) / np.sqrt(5)
        embedded = reference.activation(rng.normal(size=5))
        return relative_error(notes.ih_forward(ih, embedded), reference.ih_forward(ih, embedded))
    if number in notes.PSEUDOCODE_ERRATA:
        params = _pseudocode_parameters(rng)
        tokens, m = ERRATUM_DOCUMENT
        _, got = notes.pseudocode_loss_and_grads(*params, tokens, m, errata=(number,))
        return max(relative_error(got[name], numerical_gradient(
                       lambda: reference.loss(*params, tokens, m), p, step_sizes(name, p)))
                   for name, p in zip(("embedding", "ih", "hh", "bias"), params))
    if number == 7:
        x = np.arange(5)
        return relative_error(notes.activation_grad_as_python(x), reference.activation_grad(x))
    raise ValueError(f"number must be 1 to 12, got {number!r}")


def scaling_power(gradient, x, *args, scale=2.0):
    """The power p with ``gradient(scale * x, *args) == scale**p * gradient(x, *args)``.

    A units check that needs no finite differences.  If the function being
    differentiated is homogeneous of degree k in ``x`` (f(c x) = c^k f(x) for
    c > 0), its gradient with respect to ``x`` is homogeneous of degree k - 1.
    Row normalisation gives ``S`` unchanged when ``hh`` is scaled (k = 0), so
    ``d_hh`` must scale as 1/c, power -1, whatever ``d_scaled_hh``::

        scaling_power(reference.row_normalise_backward, hh, d_scaled_hh)   # -1.0
        scaling_power(notes.row_normalise_backward, hh, d_scaled_hh)       # -3.0

    A wrong power proves a formula wrong; the right power does not prove it
    right.

    Parameters
    ----------
    gradient : callable
        ``gradient(x, *args)`` returns an array.
    x : ndarray
        The input to scale.
    *args
        The other inputs, held fixed.
    scale : float, optional
        The factor c, positive and not 1.

    Returns
    -------
    float
        The power, measured as log(||gradient(c x)|| / ||gradient(x)||) / log(c);
        NaN when ``gradient(c x)`` is not a single multiple of ``gradient(x)``
        (to 1e-9 relative), or when ``gradient(x)`` is zero.
    """
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0 and scale != 1):
        raise ValueError(f"scale must be positive, finite and not 1, got {scale!r}")
    x = np.asarray(x, dtype=np.float64)
    before = np.asarray(gradient(x, *args), dtype=np.float64)
    after = np.asarray(gradient(scale * x, *args), dtype=np.float64)
    size = np.linalg.norm(before)
    if size == 0 or not np.isfinite(size):
        return float("nan")
    ratio = np.linalg.norm(after) / size
    if relative_error(after, ratio * before) > 1e-9:
        return float("nan")
    return float(np.log(ratio) / np.log(scale))


def format_table(rows):
    """Render check rows as a fixed-width text table.

    Parameters
    ----------
    rows : sequence of Row

    Returns
    -------
    str
    """
    lines = [f"{'section':<22}{'gradient of':<14}{'rel. error':>12}{'tolerance':>12}  result",
             "-" * 68]
    lines += [f"{r.section:<22}{r.wrt:<14}{r.error:>12.2e}{r.tolerance:>12.0e}  "
              f"{'ok' if r.passed else 'FAIL'}" for r in rows]
    return "\n".join(lines)
