"""normrnn's gradients against PyTorch autograd, intermediate by intermediate.

:mod:`normrnn.torch` rebuilds the model in PyTorch; this module goes one step
further, in the style of Karpathy's "backprop ninja" exercise.  It runs the
forward pass in PyTorch with every intermediate kept (``retain_grad``): the
states s_t, the pre-activations a_t, the logits z_t, the row norms of W_hh,
and a separate copy of each parameter for each step, so that autograd's
``.grad`` of a copy is that step's contribution to the parameter's gradient.
Then it compares each with what normrnn's own sections
(:mod:`normrnn.reference`) compute for the same step:

* ``g``, steps 0 .. T-1: g_t = E^T dz_t + S^T delta_t, d L / d s_t;
* ``delta``, steps 0 .. T-2: delta_t = g_{t+1} * f'(a_t), d L / d a_t;
* ``dz``, steps m .. T-1: dz_t = softmax(E s_t) - onehot(x_t);
* ``d_embedding_logits`` (steps m .. T-1) and ``d_embedding_input`` (steps
  0 .. T-2): dz_t (x) s_t, and du * f'(E[x_t]) in row x_t;
* ``d_ih``, ``d_scaled_hh``, ``d_bias``, steps 0 .. T-2: delta_t (x) u_t,
  delta_t (x) s_t, delta_t;
* ``d_norms``, once: -sum_j dS_ij hh_ij / (H n_i^2), the gradient of the row
  norms of W_hh, a sum over the axis along which they broadcast.

PyTorch is optional (``pip install normrnn[torch]``); it is imported only when
:func:`compare_with_autograd` runs.  This is a module of its own rather than
part of :mod:`normrnn.torch`, which only exchanges weights: here the point is
the comparison, and the torch graph is built step by step to expose its
intermediates, not for speed.
"""

from dataclasses import dataclass

import numpy as np

from . import reference

__all__ = ["Row", "Comparison", "compare_with_autograd", "normrnn_intermediates"]


@dataclass(frozen=True)
class Row:
    """One tensor at one step, normrnn against autograd.

    Attributes
    ----------
    tensor : str
        ``g``, ``delta``, ``dz``, ``d_embedding_logits``,
        ``d_embedding_input``, ``d_ih``, ``d_scaled_hh``, ``d_bias`` or
        ``d_norms``.
    step : int or None
        The step (None for ``d_norms``, computed once).
    exact : bool
        Bit-for-bit equal.
    close : bool
        Equal to within ``rtol`` relative to the largest autograd entry.
    max_difference : float
        max |normrnn - autograd|.
    """

    tensor: str
    step: object
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
        """Whether every tensor at every step is approximately equal."""
        return all(r.close for r in self.rows)

    def table(self):
        """The rows as a fixed-width text table.

        Returns
        -------
        str
        """
        lines = [f"{'tensor':<20}{'step':>5}  {'exact':<6}{'approx.':<8}{'max difference':>15}",
                 "-" * 56]
        lines += [f"{r.tensor:<20}{'' if r.step is None else r.step:>5}  "
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


def autograd_intermediates(embedding, ih, hh, bias, tokens, title_length):
    """The same tensors as :func:`normrnn_intermediates`, from PyTorch autograd.

    Every intermediate is kept with ``retain_grad``; every step reads its own
    copy (``clone``) of each parameter, whose ``.grad`` is that step's share.

    Parameters
    ----------
    embedding, ih, hh, bias : ndarray
    tokens : sequence of int
    title_length : int

    Returns
    -------
    dict
        ``(tensor, step) -> ndarray``.
    """
    from .torch import _torch
    torch = _torch()
    tokens = [int(x) for x in tokens]
    T, H = len(tokens), hh.shape[1]
    leaf = {name: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
            for name, value in (("embedding", embedding), ("ih", ih), ("hh", hh),
                                ("bias", bias))}
    kept = {}

    def keep(key, tensor):
        tensor.retain_grad()
        kept[key] = tensor
        return tensor

    def f(x):
        return 1.0 - 1.0 / (x * x + x + 1.0)

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


def compare_with_autograd(model, tokens, title_length, *, rtol=1e-10):
    """Compare normrnn's per-step gradients with autograd's, tensor by tensor.

    Parameters
    ----------
    model : NormRNN
        Its parameters are compared in float64 whatever its dtype.
    tokens : sequence of int
    title_length : int
    rtol : float, optional
        "Approximately equal": max |difference| <= rtol * max |autograd|.

    Returns
    -------
    Comparison
        One :class:`Row` per tensor and step, ordered by tensor then step.

    Raises
    ------
    ImportError
        PyTorch is not installed (``pip install normrnn[torch]``).
    """
    params = [getattr(model, name).astype(np.float64) for name in
              ("embedding", "ih", "hh", "bias")]
    tokens = [int(x) for x in tokens]
    theirs = autograd_intermediates(*params, tokens, title_length)
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
