"""normrnn's gradients against autograd (PyTorch or JAX), intermediate by intermediate.

:mod:`normrnn.torch` rebuilds the model in PyTorch; this module goes one step
further, in the style of Karpathy's "backprop ninja" exercise.  It runs the
forward pass in an autograd framework with every intermediate exposed: the
states s_t, the pre-activations a_t, the logits z_t, the row norms of W_hh,
and a separate copy of each parameter for each step, so that autograd's
gradient of a copy is that step's contribution to the parameter's gradient.
Then it compares each with what normrnn's own sections
(:mod:`normrnn.reference`) compute.  The index t of each row is a position
for the tensors of a state or a logit vector and a step for the others:

* ``g``, positions 0 .. T-1: g_t = [t >= m] E^T dz_t + S^T delta_t, d L / d s_t;
* ``delta``, steps 0 .. T-2: delta_t = g_{t+1} * f'(a_t), d L / d a_t;
* ``dz``, positions m .. T-1: dz_t = softmax(E s_t) - onehot(x_t);
* ``d_embedding_logits`` (positions m .. T-1) and ``d_embedding_input``
  (steps 0 .. T-2): dz_t (x) s_t, and du * f'(E[x_t]) in row x_t;
* ``d_ih``, ``d_scaled_hh``, ``d_bias``, steps 0 .. T-2: delta_t (x) u_t,
  delta_t (x) s_t, delta_t;
* ``d_norms``, once: -sum_j dS_ij hh_ij / (H n_i^2), the gradient of the row
  norms of W_hh, a sum over the axis along which they broadcast.

Two frameworks can be the witness, both optional: PyTorch
(``pip install normrnn[torch]``), which keeps each intermediate with
``retain_grad``, and JAX (``pip install jax``, installed by the ``docs``
extra), which differentiates with respect to a zero added to each
intermediate, the same number.  Whichever is installed is used, PyTorch
first; it is imported only when :func:`compare_with_autograd` runs.  This is a
module of its own rather than part of :mod:`normrnn.torch`, which only
exchanges weights: here the point is the comparison, and the graph is built
step by step to expose its intermediates, not for speed.
"""

from dataclasses import dataclass

import numpy as np

from . import reference
from .autograd_probe import probe

__all__ = ["BACKENDS", "Row", "Comparison", "LearnerComparison", "compare_with_autograd",
           "normrnn_intermediates", "autograd_intermediates", "norms_gradient", "available_backend"]

#: The autograd frameworks that can be the witness, in the order tried.
BACKENDS = ("torch", "jax")


@dataclass(frozen=True)
class Row:
    """One tensor at one position or step, normrnn against autograd.

    Attributes
    ----------
    tensor : str
        ``g``, ``delta``, ``dz``, ``d_embedding_logits``,
        ``d_embedding_input``, ``d_ih``, ``d_scaled_hh``, ``d_bias`` or
        ``d_norms``.
    index : int or None
        t: the position for ``g``, ``dz`` and ``d_embedding_logits``, the step
        for the others (None for ``d_norms``, computed once).
    exact : bool
        Bit-for-bit equal.
    close : bool
        Equal to within ``rtol`` relative to the largest autograd entry.
    max_difference : float
        max |normrnn - autograd|.
    detail : str
        For a learner's function: what the row covers or which gradients
        differ; ``""`` otherwise.
    """

    tensor: str
    index: object
    exact: bool
    close: bool
    max_difference: float
    detail: str = ""


@dataclass
class Comparison:
    """The rows of :func:`compare_with_autograd`, and ``rtol``."""

    rows: list
    rtol: float

    @property
    def all_close(self):
        """Whether every tensor at every position or step is approximately equal."""
        return all(r.close for r in self.rows)

    def table(self):
        """The rows as a fixed-width text table.

        Returns
        -------
        str
        """
        lines = [f"{'tensor':<20}{'t':>5}  {'exact':<6}{'approx.':<8}{'max difference':>15}",
                 "-" * 56]
        lines += [f"{r.tensor:<20}{'' if r.index is None else r.index:>5}  "
                  f"{'yes' if r.exact else 'no':<6}{'yes' if r.close else 'NO':<8}"
                  f"{r.max_difference:>15.2e}" for r in self.rows]
        return "\n".join(lines)


@dataclass
class LearnerComparison(Comparison):
    """A learner's ``loss_and_grads`` beside autograd (see :mod:`normrnn.autograd_probe`).

    ``rows`` are :class:`Row` s of the tensors ``position_loss`` and
    ``position_grads`` (the prefix x_0 .. x_t scored at t only, for every t),
    ``logits_share`` (the rows of d E that no step reads), ``step_input``
    (row x_t of d E, for every step t whose token no other step reads) and
    ``loss``, ``embedding``, ``ih``, ``hh``, ``bias`` of the whole document.
    """

    def _first(self, tensor, key):
        wrong = [r for r in self.rows if r.tensor == tensor and not r.close]
        return min(wrong, key=key) if wrong else None

    def _positions(self):
        positions = [r.index for r in self.rows if r.tensor == "position_loss"]
        first = self._first("position_loss", lambda r: r.index)
        grads = self._first("position_grads", lambda r: r.index)
        if first is None and grads is None:
            return (f"positions t = 0 .. {max(positions)}: the loss at each position and its "
                    "gradient agree")
        k = min(r.index for r in (first, grads) if r is not None)
        what = [w for w, r in (("the loss at t", first), ("its gradient", grads))
                if r is not None and r.index == k]
        detail = f": {grads.detail}" if grads is not None and grads.index == k else ""
        only_embedding = grads is not None and grads.index == k and grads.detail.startswith(
            "embedding differs;")
        hint = ("the loss at position 0: is it scored when title_length = 0?" if k == 0 else
                "only d embedding: the embedding activation, the logits' share, or a d E "
                "overwritten (=) instead of summed (+=)?" if only_embedding else
                "one step back from the logits: the logits, activation, bias, ih or "
                "embedding activation section?" if k == 1 else
                "the first loss whose gradient is carried back through S: the recurrent "
                "term, hh or the row normalisation?" if k == 2 else
                "carried over several steps: a sum (+=) that overwrites, or an index off "
                "by one?")
        agree = "" if k == 0 else f"agrees for t < {k}; "
        verb = "differ" if len(what) > 1 else "differs"
        return f"positions: {agree}from t = {k} {' and '.join(what)} {verb}{detail} ({hint})"

    def _steps(self):
        steps = sorted((r for r in self.rows if r.tensor == "step_input"),
                       key=lambda r: -r.index)
        if not steps:
            positions = sum(r.tensor == "position_loss" for r in self.rows)
            return ("steps: none (a document of one token has no step)" if positions == 1 else
                    "steps: every token is read by more than one step (give distinct inputs)")
        wrong = [r for r in steps if not r.close]
        covered = ", ".join(str(r.index) for r in reversed(steps))
        if not wrong:
            return (f"steps t = {covered}: the gradient reaching each step's input agrees "
                    "(row x_t of d embedding)")
        if self._first("logits_share", lambda r: 0) is not None:
            return ("steps: each step's row of d embedding holds the logits' share too, which "
                    "differs: no step can be told apart until the logits agree")
        j = wrong[0].index
        if all(r.close for r in self.rows if r.tensor in ("ih", "bias") and r.index is None):
            return (f"steps: from t = {j} the row of the step's input differs, but ih and bias "
                    "agree, so delta_t does: the embedding activation, or a d E overwritten (=) "
                    "instead of summed (+=)?")
        if j == steps[0].index:
            return (f"steps: from the last step, t = {j}, the gradient reaching the input "
                    "differs (the first step back from the logits: the activation, ih or "
                    "embedding activation?)")
        if j == 0 and len(wrong) == 1:
            return ("steps: agrees for t >= 1; from t = 0 the gradient reaching the input "
                    "differs (does the walk back stop one step early? it must reach t = 1)")
        return (f"steps: agrees for t >= {j + 1}; from t = {j} the carried state gradient "
                "differs (the recurrent term S^T delta?)")

    def report(self):
        """Where the learner's function first parts from autograd, in a few lines.

        Returns
        -------
        str
        """
        if self.all_close:
            return ("agrees with autograd: the loss at every position, the gradient reaching "
                    "every step, and every parameter's gradient\n" + self._steps())
        lines = [self._positions()]
        logits = self._first("logits_share", lambda r: 0)
        if logits is not None:
            lines.append(f"the logits' share of d embedding differs ({logits.detail}, read "
                         "by no step): the logits section?")
        lines.append(self._steps())
        whole = [r for r in self.rows if r.index is None and r.tensor != "logits_share"]
        differ = [r.tensor for r in whole if not r.close]
        agree = [r.tensor for r in whole if r.close]
        lines.append("whole document: " + "; ".join(
            f"{', '.join(names)} {verb if len(names) > 1 else verb + 's'}"
            for names, verb in ((differ, "differ"), (agree, "agree")) if names))
        return "\n".join(lines)


def normrnn_intermediates(embedding, ih, hh, bias, tokens, title_length):
    """normrnn's per-step gradients, computed section by section with :mod:`normrnn.reference`.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
        The parameters, float64.
    tokens : sequence of int
    title_length : int

    Returns
    -------
    dict
        ``(tensor, step) -> ndarray``, the keys of :class:`Row`.
    """
    tokens = list(tokens)
    T, H = len(tokens), hh.shape[1]
    S = reference.row_normalise(hh)
    states = reference.forward(embedding, ih, hh, bias, tokens)
    embeddeds = [reference.embedding_activation_forward(embedding, x) for x in tokens[:-1]]
    middles = [S @ states[t] + ih @ embeddeds[t] + bias for t in range(T - 1)]
    out, grad, d_scaled_hh = {}, np.zeros(H), np.zeros_like(hh)
    for t in range(T - 1, -1, -1):
        if t >= title_length:
            _, dE, d_state = reference.logits_backward(embedding, states[t], tokens[t])
            out["dz", t] = _dz(embedding, states[t], tokens[t])
            out["d_embedding_logits", t] = dE
            grad = grad + d_state
        out["g", t] = grad
        if t == 0:
            break
        delta = reference.activation_backward(grad, middles[t - 1])
        out["delta", t - 1] = delta
        out["d_bias", t - 1] = reference.bias_backward(delta)
        out["d_ih", t - 1], du = reference.ih_backward(ih, embeddeds[t - 1], delta)
        out["d_embedding_input", t - 1] = reference.embedding_activation_backward(
            embedding, tokens[t - 1], du)
        out["d_scaled_hh", t - 1], grad = reference.hh_backward(S, states[t - 1], delta)
        d_scaled_hh += out["d_scaled_hh", t - 1]
    norms = np.linalg.norm(hh, axis=1, keepdims=True)
    out["d_norms", None] = -(d_scaled_hh * hh).sum(axis=1, keepdims=True) / (H * norms**2)
    return out


def _dz(embedding, state, token):
    z = embedding @ state
    p = np.exp(z - z.max())
    p /= p.sum()
    p[token] -= 1.0
    return p


def available_backend():
    """The first of :data:`BACKENDS` that is installed.

    Returns
    -------
    str
        ``"torch"`` or ``"jax"``.

    Raises
    ------
    ImportError
        Neither is installed; the message says how to install one.
    """
    for name in BACKENDS:
        try:
            __import__(name)
        except ImportError:
            continue
        return name
    raise ImportError("the autograd comparison needs PyTorch or JAX, both optional: "
                      "pip install jax (or pip install torch)")


def _backend(backend):
    if backend is None:
        return available_backend()
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
    return backend


def autograd_intermediates(embedding, ih, hh, bias, tokens, title_length, *, backend=None):
    """The same tensors as :func:`normrnn_intermediates`, from autograd.

    With PyTorch every intermediate is kept with ``retain_grad`` and every
    step reads its own copy (``clone``) of each parameter, whose ``.grad`` is
    that step's share.  With JAX a zero is added to each intermediate and to
    each step's copy of each parameter, and ``jax.grad`` differentiates with
    respect to those zeros: the gradient of a zero added to x is the gradient
    of x.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
    tokens : sequence of int
    title_length : int
    backend : {"torch", "jax"} or None, optional
        None: :func:`available_backend`.

    Returns
    -------
    dict
        ``(tensor, t) -> ndarray``.
    """
    tokens = [int(x) for x in tokens]
    params = [np.asarray(p, dtype=np.float64) for p in (embedding, ih, hh, bias)]
    if _backend(backend) == "jax":
        return _jax_intermediates(*params, tokens, title_length)
    return _torch_intermediates(*params, tokens, title_length)


def _torch_intermediates(embedding, ih, hh, bias, tokens, title_length):
    from .torch import _torch
    torch = _torch()
    T, H = len(tokens), hh.shape[1]
    leaf = {name: torch.tensor(value, requires_grad=True)
            for name, value in (("embedding", embedding), ("ih", ih), ("hh", hh),
                                ("bias", bias))}
    kept = {}

    def keep(key, tensor):
        tensor.retain_grad()
        kept[key] = tensor
        return tensor

    f = reference.activation
    norms = keep(("d_norms", None), torch.linalg.vector_norm(leaf["hh"], dim=1, keepdim=True))
    S = leaf["hh"] / (H * norms)                       # (H, 1) broadcast along each row
    states = [keep(("g", 0), torch.zeros(H, dtype=torch.float64, requires_grad=True))]
    for t in range(T - 1):
        E_in = keep(("d_embedding_input", t), leaf["embedding"].clone())
        a = keep(("delta", t),
                 keep(("d_scaled_hh", t), S.clone()) @ states[t]
                 + keep(("d_ih", t), leaf["ih"].clone()) @ f(E_in[tokens[t]])
                 + keep(("d_bias", t), leaf["bias"].clone()))
        states.append(keep(("g", t + 1), f(a)))
    loss = torch.zeros((), dtype=torch.float64)
    for t in range(title_length, T):
        z = keep(("dz", t), keep(("d_embedding_logits", t), leaf["embedding"].clone())
                 @ states[t])
        loss = loss - torch.log_softmax(z, dim=0)[tokens[t]]
    if loss.requires_grad:
        loss.backward()
    return {key: (np.zeros(tuple(tensor.shape)) if tensor.grad is None
                  else tensor.grad.numpy().copy()) for key, tensor in kept.items()}


def _jax():
    try:
        import jax
    except ImportError as exc:
        raise ImportError("the JAX comparison needs JAX, an optional dependency: "
                          "pip install jax") from exc
    return jax


def _x64(jax):
    """A context in which JAX computes in float64 (the API moved across versions)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64
    return enable_x64()


def _zeros(T, H, V, title_length):
    """One zero per intermediate and per step's parameter copy, keyed as the rows."""
    scored = max(T - title_length, 0)
    return {"g": np.zeros((T, H)), "delta": np.zeros((T - 1, H)), "dz": np.zeros((scored, V)),
            "d_embedding_logits": np.zeros((scored, V, H)),
            "d_embedding_input": np.zeros((T - 1, V, H)), "d_ih": np.zeros((T - 1, H, H)),
            "d_scaled_hh": np.zeros((T - 1, H, H)), "d_bias": np.zeros((T - 1, H)),
            "d_norms": np.zeros((H, 1))}


def _jax_intermediates(embedding, ih, hh, bias, tokens, title_length):
    jax = _jax()
    jnp = jax.numpy
    T, (V, H) = len(tokens), embedding.shape
    f = reference.activation

    def loss(zero):
        norms = jnp.linalg.norm(hh, axis=1, keepdims=True) + zero["d_norms"]
        S = hh / (H * norms)                           # (H, 1) broadcast along each row
        states = [jnp.zeros(H) + zero["g"][0]]
        for t in range(T - 1):
            E_in = embedding + zero["d_embedding_input"][t]
            a = ((S + zero["d_scaled_hh"][t]) @ states[t]
                 + (ih + zero["d_ih"][t]) @ f(E_in[tokens[t]])
                 + bias + zero["d_bias"][t] + zero["delta"][t])
            states.append(f(a) + zero["g"][t + 1])
        total = jnp.zeros(())
        for t in range(title_length, T):
            z = ((embedding + zero["d_embedding_logits"][t - title_length]) @ states[t]
                 + zero["dz"][t - title_length])
            total = total - jax.nn.log_softmax(z)[tokens[t]]
        return total

    with _x64(jax):
        zeros = {name: jnp.asarray(value) for name, value in
                 _zeros(T, H, V, title_length).items()}
        grads = {name: np.array(value, dtype=np.float64)
                 for name, value in jax.grad(loss)(zeros).items()}
    out = {("d_norms", None): grads["d_norms"]}
    for name in ("g", "delta", "d_embedding_input", "d_ih", "d_scaled_hh", "d_bias"):
        out.update({(name, t): grads[name][t] for t in range(len(grads[name]))})
    for name in ("dz", "d_embedding_logits"):
        out.update({(name, t + title_length): grads[name][t] for t in range(len(grads[name]))})
    return out


def norms_gradient(hh, d_scaled_hh, *, keepdims=True, backend=None):
    """Autograd's gradient of the row norms of ``hh``, for a cotangent of S.

    S = hh / (H n) with n the row norms, kept as a column (shape (H, 1),
    ``keepdims=True``: n_i divides row i) or not (shape (H,), the notes'
    PyTorch line, erratum 4: n_j divides column j).  The loss is
    sum(d_scaled_hh * S).

    Parameters
    ----------
    hh, d_scaled_hh : ndarray, shape (H, H)
    keepdims : bool, optional
    backend : {"torch", "jax"} or None, optional
        None: :func:`available_backend`.

    Returns
    -------
    ndarray, shape (H,)
        d loss / d n_i.
    """
    hh = np.asarray(hh, dtype=np.float64)
    d_scaled_hh = np.asarray(d_scaled_hh, dtype=np.float64)
    H = hh.shape[1]
    if _backend(backend) == "jax":
        jax = _jax()
        with _x64(jax):
            norms = jax.numpy.linalg.norm(hh, axis=1, keepdims=keepdims)
            return np.array(jax.grad(lambda n: (d_scaled_hh * hh / (H * n)).sum())(norms)).ravel()
    from .torch import _torch
    torch = _torch()
    leaf = torch.tensor(hh, requires_grad=True)
    norms = torch.linalg.vector_norm(leaf, dim=1, keepdim=keepdims)
    norms.retain_grad()
    (torch.tensor(d_scaled_hh) * leaf / (H * norms)).sum().backward()
    return norms.grad.numpy().ravel().copy()


def compare_with_autograd(model, tokens, title_length, *, rtol=1e-10, backend=None,
                          loss_and_grads=None):
    """Compare per-step gradients with autograd's: normrnn's own, or a learner's function's.

    Parameters
    ----------
    model : NormRNN
        Its parameters are compared in float64 whatever its dtype.
    tokens : sequence of int
    title_length : int
    rtol : float, optional
        "Approximately equal": max |difference| <= rtol * max |autograd|.
    backend : {"torch", "jax"} or None, optional
        The framework to ask; None: whichever is installed, PyTorch first
        (:func:`available_backend`); a learner's function is compared
        with PyTorch, else JAX.
    loss_and_grads : callable, optional
        A learner's whole-document BPTT, called as
        ``loss_and_grads(embedding, ih, hh, bias, tokens, title_length)`` and
        returning ``(loss, grads)`` as :func:`normrnn.reference.loss_and_grads`.
        Default: normrnn's own sections, compared intermediate by
        intermediate.  A learner's function is probed on every prefix of
        ``tokens`` and on the whole document (see
        :mod:`normrnn.autograd_probe`); give ``tokens`` whose inputs are
        distinct (e.g. ``list(range(T))``) to see every step.

    Returns
    -------
    Comparison
        One :class:`Row` per tensor and position or step, ordered by tensor
        then t; a :class:`LearnerComparison`, whose ``report()`` says where
        the function first parts from autograd, for ``loss_and_grads``.

    Raises
    ------
    ImportError
        The framework asked for (or, with ``backend=None``, both) is not
        installed; the message says how to install it.
    TypeError
        ``loss_and_grads`` is not callable.
    ValueError
        ``title_length`` is outside [0, len(tokens)), or the learner's
        function returns something other than ``(loss, grads)`` with a
        gradient shaped like each parameter.  Whatever the learner's function
        raises is raised as it is.
    """
    params = [getattr(model, name).astype(np.float64) for name in
              ("embedding", "ih", "hh", "bias")]
    tokens = [int(x) for x in tokens]
    if loss_and_grads is not None:
        return _compare_learner(loss_and_grads, params, tokens, title_length, rtol)
    theirs = autograd_intermediates(*params, tokens, title_length, backend=backend)
    ours = normrnn_intermediates(*params, tokens, title_length)
    order = ("g", "delta", "dz", "d_embedding_logits", "d_embedding_input", "d_ih",
             "d_scaled_hh", "d_bias", "d_norms")
    rows = []
    for key in sorted(ours, key=lambda k: (order.index(k[0]), -1 if k[1] is None else k[1])):
        mine, want = ours[key], theirs[key]
        difference = float(np.abs(mine - want).max(initial=0.0))
        scale = float(np.abs(want).max(initial=0.0))
        rows.append(Row(key[0], key[1], bool(np.array_equal(mine, want)),
                        difference <= rtol * scale if scale > 0 else difference == 0.0,
                        difference))
    return Comparison(rows, rtol)


def _compare_learner(loss_and_grads, params, tokens, title_length, rtol):
    if not callable(loss_and_grads):
        raise TypeError("loss_and_grads must be a function "
                        f"(got {type(loss_and_grads).__name__})")
    if not (isinstance(title_length, (int, np.integer)) and 0 <= title_length < len(tokens)):
        raise ValueError(f"title_length must be an integer in [0, {len(tokens)}), "
                         f"got {title_length!r}")
    rows = [Row(*row) for row in probe(loss_and_grads, params, tokens, int(title_length), rtol)]
    return LearnerComparison(rows, rtol)
