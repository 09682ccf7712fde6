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

__all__ = ["BACKENDS", "Row", "Comparison", "compare_with_autograd", "normrnn_intermediates",
           "autograd_intermediates", "norms_gradient", "available_backend"]

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
    """

    tensor: str
    index: object
    exact: bool
    close: bool
    max_difference: float


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


def _activation(x):
    return 1.0 - 1.0 / (x * x + x + 1.0)


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

    f = _activation
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
    f = _activation

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


def compare_with_autograd(model, tokens, title_length, *, rtol=1e-10, backend=None):
    """Compare normrnn's per-step gradients with autograd's, tensor by tensor.

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
        (:func:`available_backend`).

    Returns
    -------
    Comparison
        One :class:`Row` per tensor and position or step, ordered by tensor
        then t.

    Raises
    ------
    ImportError
        The framework asked for (or, with ``backend=None``, both) is not
        installed; the message says how to install it.
    """
    params = [getattr(model, name).astype(np.float64) for name in
              ("embedding", "ih", "hh", "bias")]
    tokens = [int(x) for x in tokens]
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
